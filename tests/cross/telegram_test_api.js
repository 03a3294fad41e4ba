// Starts the npm telegram-test-api emulator on 127.0.0.1 (an ephemeral port), prints
// "port <N>" once it listens, and runs until stdin closes or a signal arrives.
// The package has no launcher of its own; failed webhook deliveries must not kill it,
// hence --unhandled-rejections=warn in run.sh.
const TelegramServer = require('telegram-test-api');

async function main() {
  const server = new TelegramServer({port: 0, host: '127.0.0.1', storeTimeout: 60});
  await server.start();
  process.stdout.write(`port ${server.server.address().port}\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.stdin.on('end', stop);
  process.stdin.resume();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`telegram-test-api failed to start: ${err}\n`);
  process.exit(1);
});

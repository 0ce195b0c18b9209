// Children tell the runner they are listening with one JSON line on stdout.
export function ready(info = {}) {
  process.stdout.write(`${JSON.stringify({ ready: true, ...info })}\n`);
}
// Exit when the runner goes away, so no server outlives a bench run.
process.on('disconnect', () => process.exit(0));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
// A normal exit on SIGTERM, so --cpu-prof profiles get written.
process.on('SIGTERM', () => process.exit(0));

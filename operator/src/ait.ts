// Entry of the `ait` command line: `node operator/src/ait.ts render -f cluster.yaml …`
// (operator/src/cli/main.ts, docs/controller.md "ait render").
import { runAit } from './cli/main.ts';

process.exitCode = runAit(process.argv.slice(2));

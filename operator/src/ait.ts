// Entry of the `ait` command line: `node operator/src/ait.ts render -f cluster.yaml …` or
// `… plan --profile test/load/profiles/headline-1m.json`
// (operator/src/cli/main.ts, docs/controller.md "ait render").
import { runAit } from './cli/main.ts';

process.exitCode = runAit(process.argv.slice(2));

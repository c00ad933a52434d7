import { buildScriptSuite } from './build-script-suite.ts';
import { SHELLS } from './harness.ts';

buildScriptSuite(SHELLS.find((s) => s.name === 'dash')!);

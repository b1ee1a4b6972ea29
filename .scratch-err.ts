import { buildAssemblyScript } from './sdk/build/assemblyscript.ts';
try { await buildAssemblyScript(process.argv[2]!); } catch (e) { console.log((e as Error).message); }

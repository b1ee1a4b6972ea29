import { buildAssemblyScript } from './sdk/build/assemblyscript.ts';
for (const dir of process.argv.slice(2)) {
  const t = Date.now();
  const r = await buildAssemblyScript(dir, { onProgress: (m) => console.log('  ' + m) });
  console.log(dir, r, Date.now() - t, 'ms');
}

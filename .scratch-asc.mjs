import asc from 'assemblyscript/asc';
const r = await asc.main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });

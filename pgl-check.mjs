import { PGlite } from '@electric-sql/pglite';
let t0 = Date.now();
const db = await PGlite.create(); console.log('init1', Date.now()-t0);
t0 = Date.now(); const db2 = await PGlite.create(); console.log('init2', Date.now()-t0);
await db.exec('create table x(a int); insert into x values (1)');
t0 = Date.now(); const dump = await db.dumpDataDir('none'); console.log('dump', Date.now()-t0, dump.size);
t0 = Date.now(); const db3 = await PGlite.create({ loadDataDir: dump }); console.log('load', Date.now()-t0, (await db3.query('select * from x')).rows);

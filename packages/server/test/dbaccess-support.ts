import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import pg from 'pg';

/** A customer database for tests: a throwaway PostgreSQL database with a table and a SELECT-only login role. */
export interface ReaderDatabase {
  /** Connection string of the SELECT-only role (what a customer seals). */
  readerUrl: string;
  admin: pg.Client;
  reader: pg.Client;
  close(): Promise<void>;
}

export async function createReaderDatabase(base: string): Promise<ReaderDatabase> {
  const suffix = randomBytes(5).toString('hex');
  const dbName = `rampart_t_sbx_${suffix}`;
  const role = `rampart_sbx_reader_${suffix}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const root = new pg.Client({ connectionString: base });
  await root.connect();
  await root.query(`CREATE DATABASE ${dbName}`);
  await root.query(
    `CREATE ROLE ${role} LOGIN PASSWORD '${password}' NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE`,
  );
  await root.end();
  const url = new URL(base);
  url.pathname = `/${dbName}`;
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  await admin.query(
    'CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, spend numeric NOT NULL)',
  );
  await admin.query(
    `INSERT INTO customers SELECT g, 'c' || g || '@example.com', g * 10 FROM generate_series(1, 50) g`,
  );
  await admin.query('CREATE SEQUENCE counter');
  await admin.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
  await admin.query(`GRANT SELECT ON customers TO ${role}`);
  const readerUrl = new URL(url.toString());
  readerUrl.username = role;
  readerUrl.password = password;
  const reader = new pg.Client({ connectionString: readerUrl.toString() });
  await reader.connect();
  return {
    readerUrl: readerUrl.toString(),
    admin,
    reader,
    close: async () => {
      await reader.end();
      await admin.end();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.query(`DROP ROLE IF EXISTS ${role}`);
      await c.end();
    },
  };
}

/**
 * A PostgreSQL server on loopback that speaks just enough of the protocol to hang: with `answerStartup` it
 * accepts any startup (AuthenticationOk, ReadyForQuery) and then never answers a query; without it, it never
 * answers the startup either. Stands in for a database (or the network in front of it) that stops responding.
 */
export async function startSilentPostgres(
  answerStartup: boolean,
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let answered = false;
    sock.on('data', () => {
      if (!answerStartup || answered) return;
      answered = true;
      const authOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
      const ready = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
      sock.write(Buffer.concat([authOk, ready]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// The database work of the Node.js servers, on the table the FastAPI package's migrations made:
// the books list's count and first page of 100 by id, as the Python packages' GET /books does on
// the seed, and one book by id for GET /books/{id}/catalog. DATABASE_URL as the Python packages
// read it: sqlite:///<path> (better-sqlite3) or postgresql://... (pg). The two queries of the list
// run on their own, as they come; the Python packages read both in one transaction.
'use strict';

const COUNT = 'SELECT count(*) AS total FROM book';
const PAGE = 'SELECT id, title, author FROM book ORDER BY id LIMIT 100 OFFSET 0';
// SQLite's placeholder, and PostgreSQL's.
const BOOK = 'SELECT title, author FROM book WHERE id = ?';
const PG_BOOK = 'SELECT title, author FROM book WHERE id = $1';
// The Python packages' pools hold at most 15 connections (SQLAlchemy's 5 + 10 overflow); pg's
// default is 10.
const MAX_CONNECTIONS = 15;

function sqlite(path) {
  const Database = require('better-sqlite3');
  // As the Python packages set SQLite up: write-ahead log, 20 s busy timeout.
  const db = new Database(path, { timeout: 20000 });
  db.pragma('journal_mode = WAL');
  const count = db.prepare(COUNT);
  const page = db.prepare(PAGE);
  const book = db.prepare(BOOK);
  // better-sqlite3 is synchronous by design: a query this small returns before a callback could.
  return {
    listBooks: async () => ({ total: count.get().total, books: page.all() }),
    readBook: async (id) => book.get(id),
  };
}

function postgresql(url) {
  const { Pool, types } = require('pg');
  // The ids and count(*) are bigints, which pg hands over as strings unless told: as numbers, exact
  // up to 2**53, like every JSON number the Python packages send.
  types.setTypeParser(types.builtins.INT8, Number);
  const pool = new Pool({ connectionString: url, max: MAX_CONNECTIONS });
  return {
    listBooks: async () => {
      const [count, page] = [await pool.query(COUNT), await pool.query(PAGE)];
      return { total: count.rows[0].total, books: page.rows };
    },
    readBook: async (id) => (await pool.query(PG_BOOK, [id])).rows[0],
  };
}

// { listBooks, readBook }: readBook(id) is the book's title and author, or undefined.
function books(url = process.env.DATABASE_URL) {
  return url.startsWith('sqlite:///') ? sqlite(url.slice('sqlite:///'.length)) : postgresql(url);
}

module.exports = { books };

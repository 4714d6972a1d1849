// GET /books/{id}/catalog's upstream call for the Node.js servers: the book's search on
// CATALOG_URL with the built-in fetch (undici: keep-alive, no cap on connections), bounded by
// CATALOG_TIMEOUT seconds, and the record from its answer: the first document's key,
// first_publish_year and first 5 isbns. Without the contract: an upstream fault is a rejected
// promise, which each framework answers with its own 500.
'use strict';

const SEARCH = `${process.env.CATALOG_URL || 'https://openlibrary.org'}/search.json`;
const TIMEOUT_MS = 1000 * Number(process.env.CATALOG_TIMEOUT || 2);

async function catalogRecord({ title, author }) {
  const query = new URLSearchParams({
    title,
    author,
    limit: '1',
    fields: 'key,first_publish_year,isbn',
  });
  const response = await fetch(`${SEARCH}?${query}`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!response.ok) {
    throw new Error(`the catalog answered ${response.status}`);
  }
  const [document] = (await response.json()).docs;
  return {
    key: document.key,
    first_publish_year: document.first_publish_year ?? null,
    isbns: (document.isbn ?? []).slice(0, 5),
  };
}

module.exports = { catalogRecord };

// GET /books and GET /books/{id}/catalog in Fastify, one process: what the Python packages' routes
// do on the seed (see books.js and catalog.js). Left out of the contract: paging and search
// parameters, the Link header, every other route and method, and problem documents (Fastify's own
// error JSON instead).
'use strict';

const fastify = require('fastify')();
const { books } = require('./books');
const { catalogRecord } = require('./catalog');

const { listBooks, readBook } = books();

fastify.get('/books', async (request, reply) => {
  const { total, books } = await listBooks();
  reply.header('X-Total-Count', String(total));
  return books;
});

fastify.get('/books/:id/catalog', async (request, reply) => {
  const book = await readBook(Number(request.params.id));
  if (book === undefined) {
    return reply.code(404).send();
  }
  return catalogRecord(book);
});

fastify.listen({ host: process.env.HOST, port: Number(process.env.PORT) }).catch((error) => {
  console.error(error);
  process.exit(1);
});

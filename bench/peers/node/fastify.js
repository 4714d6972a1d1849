// GET /books in Fastify, one process: what the Python packages' GET /books does on the seed (see
// books.js). Left out of the contract: paging and search parameters, the Link header, every other
// route and method, and problem documents (Fastify's own error JSON instead).
'use strict';

const fastify = require('fastify')();
const { listBooks } = require('./books');

const list = listBooks();

fastify.get('/books', async (request, reply) => {
  const { total, books } = await list();
  reply.header('X-Total-Count', String(total));
  return books;
});

fastify.listen({ host: process.env.HOST, port: Number(process.env.PORT) }).catch((error) => {
  console.error(error);
  process.exit(1);
});

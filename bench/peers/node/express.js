// GET /books and GET /books/{id}/catalog in Express, one process: what the Python packages' routes
// do on the seed (see books.js and catalog.js). Left out of the contract: paging and search
// parameters, the Link header, every other route and method, and problem documents (Express's own
// HTML error page instead).
'use strict';

const express = require('express');
const { books } = require('./books');
const { catalogRecord } = require('./catalog');

const app = express();
const { listBooks, readBook } = books();

// Express 5 passes a rejected promise on to its error handler itself.
app.get('/books', async (request, response) => {
  const { total, books } = await listBooks();
  response.set('X-Total-Count', String(total)).json(books);
});

app.get('/books/:id/catalog', async (request, response) => {
  const book = await readBook(Number(request.params.id));
  if (book === undefined) {
    response.sendStatus(404);
    return;
  }
  response.json(await catalogRecord(book));
});

app.listen(Number(process.env.PORT), process.env.HOST);

// GET /books in Express, one process: what the Python packages' GET /books does on the seed (see
// books.js). Left out of the contract: paging and search parameters, the Link header, every other
// route and method, and problem documents (Express's own HTML error page instead).
'use strict';

const express = require('express');
const { listBooks } = require('./books');

const app = express();
const list = listBooks();

// Express 5 passes a rejected promise on to its error handler itself.
app.get('/books', async (request, response) => {
  const { total, books } = await list();
  response.set('X-Total-Count', String(total)).json(books);
});

app.listen(Number(process.env.PORT), process.env.HOST);

// The books list in Go, for make bench: GET /books does what the Python packages' GET /books
// does on the seed — the count and the first page of 100 by id, as a JSON array with the count in
// X-Total-Count — with the standard library's net/http and database/sql. GET /books/{id}/catalog
// reads the book by id, asks the upstream catalog for it with net/http's client, and answers its
// record: the first document's key, first_publish_year and first 5 isbns.
//
// Left out of the contract: paging and search parameters, the Link header, every other route and
// method, and problem documents (an error is a bare 500, or 502 for the upstream). The two queries
// run on the pool as they come, each on its own; the Python packages read both in one transaction.
//
// DATABASE_URL is read as the Python packages read it: sqlite:///<path> (mattn/go-sqlite3) or
// postgresql://... (lib/pq); so are CATALOG_URL and CATALOG_TIMEOUT (seconds). HOST and PORT say
// where to listen.
package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/lib/pq"
	_ "github.com/mattn/go-sqlite3"
)

// The Python packages' pools hold at most 15 connections (SQLAlchemy's 5 + 10 overflow); Go's
// default keeps only 2 idle, and would open and close connections under 64 concurrent requests.
const maxConnections = 15

type book struct {
	ID     int64  `json:"id"`
	Title  string `json:"title"`
	Author string `json:"author"`
}

func open(databaseURL string) (*sql.DB, error) {
	if strings.HasPrefix(databaseURL, "sqlite:///") {
		// As the Python packages set SQLite up: write-ahead log, 20 s busy timeout.
		path := strings.TrimPrefix(databaseURL, "sqlite:///")
		return sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=20000")
	}
	separator := "?"
	if strings.Contains(databaseURL, "?") {
		separator = "&"
	}
	// lib/pq asks for TLS unless told otherwise; the Python drivers (libpq) only prefer it.
	return sql.Open("postgres", databaseURL+separator+"sslmode=disable")
}

func listBooks(db *sql.DB) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var total int64
		if err := db.QueryRowContext(r.Context(), "SELECT count(*) FROM book").Scan(&total); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		rows, err := db.QueryContext(r.Context(), "SELECT id, title, author FROM book ORDER BY id LIMIT 100 OFFSET 0")
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer rows.Close()
		books := []book{}
		for rows.Next() {
			var b book
			if err := rows.Scan(&b.ID, &b.Title, &b.Author); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			books = append(books, b)
		}
		if err := rows.Err(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Total-Count", strconv.FormatInt(total, 10))
		json.NewEncoder(w).Encode(books)
	}
}

// The upstream's answer, as far as the record needs it.
type search struct {
	Docs []struct {
		Key              string   `json:"key"`
		FirstPublishYear *int64   `json:"first_publish_year"`
		ISBN             []string `json:"isbn"`
	} `json:"docs"`
}

type record struct {
	Key              string   `json:"key"`
	FirstPublishYear *int64   `json:"first_publish_year"`
	ISBNs            []string `json:"isbns"`
}

func catalogClient() *http.Client {
	seconds := 2.0
	if value := os.Getenv("CATALOG_TIMEOUT"); value != "" {
		parsed, err := strconv.ParseFloat(value, 64)
		if err != nil {
			log.Fatal(err)
		}
		seconds = parsed
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	// Go keeps 2 idle connections per host by default (100 in all): under 64 concurrent calls it
	// would open and close one per call. No cap, as the Python apps' and Node.js's clients.
	transport.MaxIdleConns = 0
	transport.MaxIdleConnsPerHost = 100000
	return &http.Client{Transport: transport, Timeout: time.Duration(seconds * float64(time.Second))}
}

func bookCatalog(db *sql.DB, client *http.Client, catalogURL string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// net/http's mux of Go 1.19 has no path parameters: /books/{id}/catalog by hand.
		id, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/books/"), "/catalog"), 10, 64)
		if err != nil || !strings.HasSuffix(r.URL.Path, "/catalog") {
			http.NotFound(w, r)
			return
		}
		var title, author string
		err = db.QueryRowContext(r.Context(), "SELECT title, author FROM book WHERE id = $1", id).Scan(&title, &author)
		if err == sql.ErrNoRows {
			http.NotFound(w, r)
			return
		} else if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		query := url.Values{"title": {title}, "author": {author}, "limit": {"1"}, "fields": {"key,first_publish_year,isbn"}}
		request, err := http.NewRequestWithContext(r.Context(), "GET", catalogURL+"/search.json?"+query.Encode(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		response, err := client.Do(request)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer response.Body.Close()
		var answer search
		if err := json.NewDecoder(response.Body).Decode(&answer); err != nil || response.StatusCode != http.StatusOK || len(answer.Docs) == 0 {
			http.Error(w, fmt.Sprintf("the catalog answered %d", response.StatusCode), http.StatusBadGateway)
			return
		}
		first := answer.Docs[0]
		isbns := append([]string{}, first.ISBN[:min(5, len(first.ISBN))]...)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(record{first.Key, first.FirstPublishYear, isbns})
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func main() {
	db, err := open(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(maxConnections)
	db.SetMaxIdleConns(maxConnections)
	catalogURL := os.Getenv("CATALOG_URL")
	if catalogURL == "" {
		catalogURL = "https://openlibrary.org"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/books", listBooks(db))
	mux.HandleFunc("/books/", bookCatalog(db, catalogClient(), catalogURL))
	address := os.Getenv("HOST") + ":" + os.Getenv("PORT")
	log.Printf("listening on %s", address)
	log.Fatal(http.ListenAndServe(address, mux))
}

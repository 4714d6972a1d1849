// The books list in Go, for make bench: GET /books does what the Python packages' GET /books
// does on the seed — the count and the first page of 100 by id, as a JSON array with the count in
// X-Total-Count — with the standard library's net/http and database/sql.
//
// Left out of the contract: paging and search parameters, the Link header, every other route and
// method, and problem documents (an error is a bare 500). The two queries run on the pool as they
// come, each on its own; the Python packages read both in one transaction.
//
// DATABASE_URL is read as the Python packages read it: sqlite:///<path> (mattn/go-sqlite3) or
// postgresql://... (lib/pq). HOST and PORT say where to listen.
package main

import (
	"database/sql"
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"

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

func main() {
	db, err := open(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	db.SetMaxOpenConns(maxConnections)
	db.SetMaxIdleConns(maxConnections)
	mux := http.NewServeMux()
	mux.HandleFunc("/books", listBooks(db))
	address := os.Getenv("HOST") + ":" + os.Getenv("PORT")
	log.Printf("listening on %s", address)
	log.Fatal(http.ListenAndServe(address, mux))
}

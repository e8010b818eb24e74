// Package web holds the browser side of shopchat, embedded in the binary: the chat widget a shop
// adds to its pages with one script tag, and the demo shop page served at "/". The agent console
// lives in web/console (issue #7).
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed widget demo
var files embed.FS

// Widget returns the widget's files (shopchat.js, shopchat.css).
func Widget() fs.FS {
	sub, _ := fs.Sub(files, "widget")
	return sub
}

// Handler serves the widget under /widget/ and, when demo is true, the demo shop page at "/". It is
// safe for concurrent use.
func Handler(demo bool) http.Handler {
	mux := http.NewServeMux()
	widget := http.StripPrefix("/widget/", http.FileServerFS(Widget()))
	mux.Handle("GET /widget/", cacheShort(widget))
	if demo {
		page, _ := fs.ReadFile(files, "demo/index.html")
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(page)
		})
	}
	return mux
}

func cacheShort(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".js") || strings.HasSuffix(r.URL.Path, ".css") {
			w.Header().Set("Cache-Control", "public, max-age=300")
		}
		// The widget is loaded cross-origin by shops' pages.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		h.ServeHTTP(w, r)
	})
}

package console

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
)

// assets are the console's page, stylesheet and script: plain files, no build step, nothing
// fetched from elsewhere, so the console works on a machine without internet access.
//
//go:embed assets
var assets embed.FS

// Assets is the embedded files, rooted at their directory (for the page-weight check).
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the directory is embedded above; cannot happen
	}
	return sub
}

var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

func (c *Console) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(Assets(), name)
	ct, known := contentTypes[path.Ext(name)]
	if err != nil || !known {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// The assets change only with the binary; a short cache keeps upgrades visible.
	w.Header().Set("Cache-Control", "max-age=60")
	w.Write(b)
}

// page serves the console's one page.
func (c *Console) page(w http.ResponseWriter, r *http.Request) { c.serveAsset(w, r, "index.html") }

// asset serves /console/{file}.
func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "index.html" {
		http.NotFound(w, r)
		return
	}
	c.serveAsset(w, r, r.URL.Path)
}

package handlers

import (
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files/v2"

	"github.com/acme/totp/api"
	"github.com/acme/totp/docs"
)

// swaggerUI serves GET /swagger/*file: Swagger UI's files straight from
// swaggo/files/v2's embed.FS, an initializer that points it at doc.json,
// and doc.json, the spec swag generated into package docs.
//
// gin-swagger would do the same, but it imports package swag, whose root
// package is swag's parser: linking it added 14 MB of code and data to the
// binary, and resident memory under load went from 22 to 28 MB.
func swaggerUI(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("file")), "/")
	switch name {
	case "doc.json":
		c.Data(http.StatusOK, "application/json; charset=utf-8", docs.SwaggerJSON)
		return
	case "swagger-initializer.js":
		c.Data(http.StatusOK, "application/javascript", []byte(swaggerInitializer))
		return
	case "", ".":
		c.Redirect(http.StatusFound, "/swagger/index.html")
		return
	}
	content, err := openSwaggerFile(name)
	if err != nil {
		abort(c, newProblem(http.StatusNotFound, api.CodeNotFound, "", "no Swagger UI file by this name"))
		return
	}
	defer content.Close()
	if t, ok := swaggerContentTypes[path.Ext(name)]; ok {
		c.Header("Content-Type", t)
	}
	// Unlike http.FileServer, ServeContent does not redirect index.html.
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, content)
}

// openSwaggerFile opens one of Swagger UI's files, not a directory.
func openSwaggerFile(name string) (interface {
	io.ReadSeeker
	io.Closer
}, error) {
	f, err := swaggerFiles.FS.Open(name)
	if err != nil {
		return nil, err
	}
	rs, ok := f.(io.ReadSeeker)
	if stat, err := f.Stat(); !ok || err != nil || stat.IsDir() {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return struct {
		io.ReadSeeker
		io.Closer
	}{rs, f}, nil
}

var swaggerContentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "application/javascript",
	".png":  "image/png",
	".map":  "application/json",
}

// swaggerInitializer starts Swagger UI on doc.json, as gin-swagger's
// defaults did.
const swaggerInitializer = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "doc.json",
    dom_id: "#swagger-ui",
    validatorUrl: null,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 1,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
  });
};
`

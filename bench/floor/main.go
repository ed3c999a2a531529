// Command floor is the load test's baseline: a bare Gin endpoint that binds
// the verify JSON and answers a constant, so bench/load.sh can report the
// service's figures as ratios of what Gin itself costs on the same machine
// in the same run.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
)

type verifyRequest struct {
	Secret   string `json:"secret"`
	Token    string `json:"token"`
	Encoding string `json:"encoding"`
	Skew     int    `json:"skew"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/verify/token", func(c *gin.Context) {
		var req verifyRequest
		if err := c.ShouldBindJSON(&req); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		c.JSON(http.StatusOK, gin.H{"valid": false, "reason": "mismatch", "remaining": 18})
	})
	log.Fatal(http.ListenAndServe(*addr, r))
}

// Command reference is what bench/load.sh measures the service against,
// built in the same run on the same machine: a bare Gin endpoint that binds
// the verify JSON into a struct and answers a struct (-validate=false), and
// the same endpoint checking the code with pquerna/otp's
// totp.ValidateCustom (-validate), which is what a hand-rolled service
// wrapping the library would do.
//
// Two switches add to the reference what the service promises, to tell
// what each costs: -headers answers with the service's security headers
// and a request ID; -timeouts serves with the service's read-header, read,
// write and idle timeouts (handlers.Serve's), which net/http turns into five
// deadline changes a request; -records N holds N records the size of the
// guard's (a 16-byte key, a 72-byte record) in a map, as the guard's
// memory store holds one per secret verified. Built with -tags libs
// (libs.go), it links every library the service links and runs their init,
// calling none of them: what linking them costs apart from the service's
// own work per request.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	potp "github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

type verifyRequest struct {
	Secret string `json:"secret"`
	Token  string `json:"token"`
	Skew   *uint  `json:"skew"`
}

type verifyResponse struct {
	Valid     bool   `json:"valid"`
	Reason    string `json:"reason,omitempty"`
	Remaining int    `json:"remaining"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	validate := flag.Bool("validate", false, "check the code with totp.ValidateCustom")
	headers := flag.Bool("headers", false, "answer with the service's security headers and a request ID")
	timeouts := flag.Bool("timeouts", false, "serve with the service's timeouts")
	records := flag.Int("records", 0, "hold this many guard-sized records")
	flag.Parse()
	held := map[[16]byte][72]byte{}
	for i := range *records {
		held[[16]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)}] = [72]byte{}
	}
	var ids atomic.Uint64
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST("/verify/token", func(c *gin.Context) {
		var req verifyRequest
		if err := c.ShouldBindJSON(&req); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		now := time.Now()
		resp := verifyResponse{Reason: "mismatch", Remaining: 30 - int(now.Unix()%30)}
		if *validate {
			skew := uint(1)
			if req.Skew != nil {
				skew = *req.Skew
			}
			ok, err := totp.ValidateCustom(req.Token, req.Secret, now, totp.ValidateOpts{
				Period: 30, Skew: skew, Digits: potp.DigitsSix, Algorithm: potp.AlgorithmSHA1,
			})
			if err != nil {
				c.Status(http.StatusBadRequest)
				return
			}
			if ok {
				resp.Valid, resp.Reason = true, ""
			}
		}
		if *headers {
			h := c.Writer.Header()
			h.Set("X-Request-Id", fmt.Sprintf("%024x", ids.Add(1)))
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Content-Security-Policy", "frame-ancestors 'none'")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cache-Control", "no-store")
		}
		c.JSON(http.StatusOK, resp)
	})
	srv := &http.Server{Addr: *addr, Handler: r}
	if *timeouts {
		srv.ReadHeaderTimeout, srv.ReadTimeout = 5*time.Second, 10*time.Second
		srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes = 15*time.Second, 60*time.Second, 16<<10
	}
	err := srv.ListenAndServe()
	runtime.KeepAlive(held)
	log.Fatal(err)
}

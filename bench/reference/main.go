// Command reference is what bench/load.sh measures the service against,
// built in the same run on the same machine: a bare Gin endpoint that binds
// the verify JSON into a struct and answers a struct (-validate=false), and
// the same endpoint checking the code with pquerna/otp's
// totp.ValidateCustom (-validate), which is what a hand-rolled service
// wrapping the library would do.
package main

import (
	"flag"
	"log"
	"net/http"
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
	flag.Parse()
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
		c.JSON(http.StatusOK, resp)
	})
	log.Fatal(http.ListenAndServe(*addr, r))
}

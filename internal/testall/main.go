// Command testall runs every test of the repository, the server's module
// and the client's, with the race detector, as the README's test command:
//
//	go run ./internal/testall
//
// It is `go test -race -count=1 -json ./...` in each module, read through
// test2json's events (go doc test2json): it prints what `go test` prints
// (a line per package, and the output of what failed), then a summary
// line of every skipped test with its reason, which `go test` shows only
// with -v. Tests that need redis-server, Chromium or oathtool skip loudly
// when those are missing, except under CI (CI set), where they fail.
// Extra arguments go to `go test`, e.g. -run TestFleet.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

// event is one test2json event.
type event struct {
	Action  string
	Package string
	Test    string
	Elapsed float64
	Output  string
}

func main() {
	failed := false
	var skipped []string
	for _, dir := range []string{".", "client"} {
		ok, skips, err := run(dir, os.Args[1:], os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "testall:", err)
			os.Exit(2)
		}
		failed = failed || !ok
		skipped = append(skipped, skips...)
	}
	if len(skipped) > 0 {
		sort.Strings(skipped)
		fmt.Printf("\nSKIPPED %d test(s) (run with what they name, or under CI, where they must run):\n", len(skipped))
		for _, s := range skipped {
			fmt.Println("  " + s)
		}
	}
	if failed {
		fmt.Println("\nFAIL")
		os.Exit(1)
	}
	fmt.Println("\nPASS: every test of both modules ran or is listed above")
}

// run tests the module in dir and reports whether everything passed, and
// the tests skipped with their reasons.
func run(dir string, args []string, out io.Writer) (bool, []string, error) {
	cmd := exec.Command("go", append([]string{"test", "-race", "-count=1", "-json"}, append(args, "./...")...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr // build errors
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, nil, err
	}
	if err := cmd.Start(); err != nil {
		return false, nil, err
	}
	outputs := map[string][]string{} // package + test → its output lines
	var skipped []string
	failed := false
	lines := bufio.NewScanner(stdout)
	lines.Buffer(make([]byte, 1<<20), 16<<20)
	for lines.Scan() {
		var e event
		if err := json.Unmarshal(lines.Bytes(), &e); err != nil {
			fmt.Fprintln(out, lines.Text()) // not an event: pass it on
			continue
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			outputs[key] = append(outputs[key], e.Output)
		case "skip":
			if e.Test != "" {
				skipped = append(skipped, e.Package+" "+e.Test+": "+reason(outputs[key]))
			}
		case "fail":
			failed = true
			if e.Test != "" {
				fmt.Fprint(out, strings.Join(outputs[key], ""))
			} else {
				fmt.Fprintf(out, "FAIL\t%s\t%s\n", e.Package, seconds(e.Elapsed))
			}
		case "pass":
			if e.Test == "" {
				fmt.Fprintf(out, "ok  \t%s\t%s\n", e.Package, seconds(e.Elapsed))
			}
		}
		if e.Action != "output" {
			delete(outputs, key)
		}
	}
	if err := lines.Err(); err != nil {
		return false, nil, err
	}
	err = cmd.Wait()
	if _, exit := err.(*exec.ExitError); err != nil && !exit {
		return false, nil, err
	}
	return !failed && err == nil, skipped, nil
}

// reason is the message a test skipped with: its last line of output that
// is not the "--- SKIP" line.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--- SKIP") && !strings.HasPrefix(l, "=== ") {
			return l
		}
	}
	return "(no reason given)"
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

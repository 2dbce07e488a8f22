package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mailtrace/mailtrace/reply"
)

// runClassify shows how one receiver's reply is classified, for
// administrators writing rules.
func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("classify", flag.ContinueOnError)
	var c common
	c.register(fs)
	mx := fs.String("mx", "", "the MX or relay host that answered (names the provider)")
	rcpt := fs.String("rcpt", "", "the recipient (its domain names the provider when no host is given)")
	dsn := fs.String("dsn", "", "the enhanced status code when it came apart from the text (Postfix's dsn=)")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: mailtrace classify [--mx HOST] [--rcpt ADDRESS] [--dsn CODE] [--json] "REPLY TEXT"`)
		fmt.Fprintln(stderr, "Shows the category, block signal and provider mailtrace gives a receiver's reply, and which rule decided.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf(`%w: give the reply text, e.g. mailtrace classify --mx mx1.hotmail.com "550 5.7.1 ... (S3150)"`, errUsage)
	}
	cfg, err := c.load()
	if err != nil {
		return err
	}
	cl, err := cfg.Classify.Classifier()
	if err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	r := cl.Classify(text, *dsn, *mx, reply.Domain(*rcpt))
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	category, block, provider := r.Category, "no", r.Provider
	if category == "" {
		category = "(none: delivered)"
	}
	if r.Block {
		block = "yes"
	}
	if provider == "" {
		provider = "(unknown)"
	}
	fmt.Fprintf(stdout, "category:   %s\nblock:      %s\nprovider:   %s\n", category, block, provider)
	if r.Auth != "" {
		fmt.Fprintf(stdout, "auth:       %s failed (sender authentication; see mailtrace doctor auth)\n", r.Auth)
	}
	switch r.By {
	case reply.ByText:
		fmt.Fprintf(stdout, "decided by: text pattern %q\n", r.Pattern)
	case reply.ByEnhanced:
		code := *dsn
		if code == "" {
			code = reply.EnhancedCode(text)
		}
		fmt.Fprintf(stdout, "decided by: enhanced status code %s\n", code)
	case reply.ByBasic:
		fmt.Fprintf(stdout, "decided by: reply code %s\n", reply.BasicCode(text))
	}
	return nil
}

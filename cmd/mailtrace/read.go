package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/mailtrace/mailtrace/api"
	"github.com/mailtrace/mailtrace/config"
	"github.com/mailtrace/mailtrace/store"
)

// openReader opens what a reading command reads: the store, read-only.
// When apiURL is given, or a running mailtrace holds the embedded store
// (one process only may open it), it reads that mailtrace's API instead,
// with the token in MAILTRACE_API_TOKEN, and says so on stderr (with note
// appended). Either way the command reads through the same api.Reader;
// closeReader releases it.
func openReader(ctx context.Context, cfg config.Config, apiURL string, stderr io.Writer, note string) (rd api.Reader, closeReader func(), err error) {
	// A library named for the embedded store must be there, whether the
	// store is opened (store.Open checks) or a running sidecar's API is
	// asked: the same setting would stop the sidecar at its next start.
	// A server store does not use it.
	if strings.HasPrefix(cfg.Store, "chdb:") {
		if err := store.CheckChdbLibrary(cfg.ChdbLibrary); err != nil {
			return nil, nil, err
		}
	}
	if apiURL != "" {
		return api.NewClient(apiURL, os.Getenv("MAILTRACE_API_TOKEN")), func() {}, nil
	}
	st, err := openReadOnly(ctx, cfg)
	if err == nil {
		return api.NewStoreReader(st, cfg.SQL), func() { st.Close() }, nil
	}
	if !errors.Is(err, store.ErrInUse) {
		return nil, nil, err
	}
	u := "http://" + cfg.API.Listen
	fmt.Fprintf(stderr, "mailtrace: the store is held by a running mailtrace; asking its API at %s%s\n", u, note)
	return api.NewClient(u, os.Getenv("MAILTRACE_API_TOKEN")), func() {}, nil
}

// apiHint adds to an API's refusal of the token where commands take it
// from.
func apiHint(err error) error {
	if se := (*api.StatusError)(nil); errors.As(err, &se) && se.Code == http.StatusUnauthorized {
		return fmt.Errorf("%w (mailtrace commands send the token in MAILTRACE_API_TOKEN)", err)
	}
	return err
}

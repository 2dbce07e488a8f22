package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mailtrace/mailtrace/authreport"
	"github.com/mailtrace/mailtrace/block"
	"github.com/mailtrace/mailtrace/trace"
)

// ErrCutShort: the API ended its answer early; its log says why.
var ErrCutShort = errors.New("api: answer cut short")

// StatusError is an answer of the API other than 200 OK, with the error
// it gave. Code 401 wants a token (or another), 403 a token of another
// role.
type StatusError struct {
	Code    int
	Status  string // "401 Unauthorized"
	Message string
}

func (e *StatusError) Error() string { return "API " + e.Status + ": " + e.Message }

// Client reads a running mailtrace's API, with the API's own answer
// types: it is the Reader of a command that cannot open the store.
type Client struct {
	base  string
	token string
	http  *http.Client
}

var _ Reader = (*Client)(nil)

// NewClient asks the API at base (http://host:port); token, when not
// empty, is sent as the bearer token the API's auth takes.
func NewClient(base, token string) *Client {
	return &Client{base: strings.TrimSuffix(base, "/"), token: token, http: http.DefaultClient}
}

// get asks path and copies a successful answer to w.
func (c *Client) get(ctx context.Context, path string, q url.Values, w io.Writer) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("asking the API: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the API ended its answer before it began (%v); the server's log says why", ErrCutShort, err)
	}
	if err != nil {
		return fmt.Errorf("asking the API: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusOK {
		if _, err := io.Copy(w, res.Body); err != nil {
			return fmt.Errorf("%w (%v); the server's log says why", ErrCutShort, err)
		}
		return nil
	}
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&body)
	return &StatusError{Code: res.StatusCode, Status: res.Status, Message: body.Error}
}

// getJSON asks path and decodes a successful answer into v.
func (c *Client) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	var buf strings.Builder
	if err := c.get(ctx, path, q, &buf); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(buf.String()), v); err != nil {
		return fmt.Errorf("reading the API's answer: %w", err)
	}
	return nil
}

func (c *Client) Trace(ctx context.Context, q trace.Query) ([]*trace.Message, error) {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var body struct {
		Messages []*trace.Message `json:"messages"`
	}
	err := c.getJSON(ctx, "/api/v1/trace/"+url.PathEscape(q.ID), v, &body)
	if se := (*StatusError)(nil); errors.As(err, &se) && se.Code == http.StatusNotFound {
		return []*trace.Message{}, nil // it names no message
	}
	return body.Messages, err
}

func (c *Client) Blocks(ctx context.Context, f block.Filter) ([]block.Incident, error) {
	v := url.Values{}
	if !f.Open {
		v.Set("state", "all")
		v.Set("from", f.From.UTC().Format(time.RFC3339Nano))
		v.Set("to", f.To.UTC().Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	var body struct {
		Incidents []block.Incident `json:"incidents"`
	}
	err := c.getJSON(ctx, "/api/v1/blocks", v, &body)
	return body.Incidents, err
}

func (c *Client) Reports(ctx context.Context, rg authreport.Range) (*Reports, error) {
	var out Reports
	v := url.Values{"from": {rg.From.UTC().Format(time.RFC3339Nano)}, "to": {rg.To.UTC().Format(time.RFC3339Nano)}}
	if err := c.getJSON(ctx, "/api/v1/reports", v, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SQL streams the answer of /api/v1/sql to w (the admin role).
func (c *Client) SQL(ctx context.Context, query, format string, w io.Writer) error {
	return c.get(ctx, "/api/v1/sql", url.Values{"query": {query}, "format": {format}}, w)
}

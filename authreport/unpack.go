package authreport

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
)

// MaxUnpacked caps what one file or attachment may decompress to, in all:
// past it the file is refused as a decompression bomb.
const MaxUnpacked = 20 << 20

// maxNesting is how many archives deep a report may be (gzip in gzip, a
// zip in a gzip).
const maxNesting = 3

// maxEntries bounds the files of one zip archive.
const maxEntries = 64

// ErrTooLarge is a file or attachment that decompresses past MaxUnpacked.
var ErrTooLarge = fmt.Errorf("authreport: decompresses to more than %d MiB (a decompression bomb?)", MaxUnpacked>>20)

// ErrNested is an archive nested deeper than reports ever are.
var ErrNested = fmt.Errorf("authreport: archives nested more than %d deep", maxNesting)

// piece is one document found inside a file: its name (within archives)
// and bytes, or why it could not be read.
type piece struct {
	name string
	data []byte
	err  error
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zipMagic  = []byte("PK\x03\x04")
	zipEmpty  = []byte("PK\x05\x06")
)

// unpack decompresses data through as many gzip and zip layers as it has,
// sharing one budget of MaxUnpacked bytes.
func unpack(name string, data []byte) []piece {
	budget := int64(MaxUnpacked)
	var out []piece
	unpackInto(name, data, 0, &budget, &out)
	return out
}

func unpackInto(name string, data []byte, depth int, budget *int64, out *[]piece) {
	isGzip, isZip := bytes.HasPrefix(data, gzipMagic), bytes.HasPrefix(data, zipMagic) || bytes.HasPrefix(data, zipEmpty)
	if !isGzip && !isZip {
		*out = append(*out, piece{name: name, data: data})
		return
	}
	if depth >= maxNesting {
		*out = append(*out, piece{name: name, err: ErrNested})
		return
	}
	if isGzip {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			*out = append(*out, piece{name: name, err: fmt.Errorf("authreport: the gzip data does not read: %v", err)})
			return
		}
		// One member: some reporters leave bytes after it.
		zr.Multistream(false)
		inner, err := readCapped(zr, budget)
		if err != nil {
			*out = append(*out, piece{name: name, err: gzipError(err)})
			return
		}
		unpackInto(name, inner, depth+1, budget, out)
		return
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		*out = append(*out, piece{name: name, err: fmt.Errorf("authreport: the zip archive does not read: %v", err)})
		return
	}
	found := 0
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		found++
		if found > maxEntries {
			*out = append(*out, piece{name: name, err: fmt.Errorf("authreport: the zip archive holds more than %d files", maxEntries)})
			return
		}
		entry := name + "/" + f.Name
		if f.Name == "" { // a streamed zip may leave its entry unnamed
			entry = fmt.Sprintf("%s/(entry %d)", name, found)
		}
		if uint64(f.UncompressedSize64) > uint64(*budget) {
			*out = append(*out, piece{name: entry, err: ErrTooLarge})
			return
		}
		rc, err := f.Open()
		if err != nil {
			*out = append(*out, piece{name: entry, err: fmt.Errorf("authreport: zip entry %q: %v", f.Name, err)})
			continue
		}
		inner, err := readCapped(rc, budget)
		rc.Close()
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				*out = append(*out, piece{name: entry, err: err})
				return
			}
			*out = append(*out, piece{name: entry, err: fmt.Errorf("authreport: zip entry %q: %v", f.Name, err)})
			continue
		}
		unpackInto(entry, inner, depth+1, budget, out)
	}
	if found == 0 {
		*out = append(*out, piece{name: name, err: errors.New("authreport: the zip archive is empty")})
	}
}

// readCapped reads r to its end within what is left of the budget.
func readCapped(r io.Reader, budget *int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, *budget+1))
	if int64(len(data)) > *budget {
		return nil, ErrTooLarge
	}
	*budget -= int64(len(data))
	return data, err
}

func gzipError(err error) error {
	switch {
	case errors.Is(err, ErrTooLarge):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("authreport: the gzip data is cut short")
	}
	return fmt.Errorf("authreport: the gzip data does not read: %v", err)
}

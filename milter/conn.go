package milter

import (
	"bufio"
	"io"
	"syscall"

	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// batchingListener hands out batchingConns.
type batchingListener struct{ net.Listener }

func (l batchingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	var src io.Reader = c
	if tc, ok := c.(*net.TCPConn); ok {
		if raw, err := tc.SyscallConn(); err == nil {
			src = &quickAckReader{Conn: c, raw: raw}
		}
	}
	return &batchingConn{Conn: c, r: bufio.NewReaderSize(src, 64<<10)}, nil
}

// quickAckReader acknowledges what it reads at once (TCP_QUICKACK, which
// Linux clears again after a while, hence before every read). Postfix
// writes a milter command in several small segments without TCP_NODELAY:
// with the usual delayed acknowledgement, Nagle's algorithm holds its
// second segment until the first is acknowledged, up to 40 ms per message.
type quickAckReader struct {
	net.Conn
	raw syscall.RawConn
}

func (r *quickAckReader) Read(p []byte) (int, error) {
	r.raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
	return r.Conn.Read(p)
}

// batchingConn gathers what the milter writes for one answer and sends it
// in one write when the milter next reads or closes. go-milter writes each
// packet in two writes, so an answer of five packets (three headers, the
// sender change, accept) would cost ten system calls and as many wake-ups
// of Postfix; the milter always reads after it answered, so nothing waits.
// Reads are buffered too: go-milter reads each packet's length and body
// separately, and Postfix sends the commands that need no reply (one per
// header) back to back.
type batchingConn struct {
	net.Conn
	r   *bufio.Reader
	mu  sync.Mutex
	buf []byte
	err error
}

// flushTimeout bounds one flush, as go-milter bounds each write.
const flushTimeout = 30 * time.Second

func (c *batchingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= 64<<10 {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *batchingConn) flushLocked() error {
	if len(c.buf) == 0 || c.err != nil {
		return c.err
	}
	c.Conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	_, err := c.Conn.Write(c.buf)
	c.Conn.SetWriteDeadline(time.Time{})
	c.buf = c.buf[:0]
	c.err = err
	return err
}

func (c *batchingConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	err := c.flushLocked()
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func (c *batchingConn) Close() error {
	c.mu.Lock()
	c.flushLocked()
	c.mu.Unlock()
	return c.Conn.Close()
}

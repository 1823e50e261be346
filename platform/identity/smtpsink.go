package identity

import (
	"bufio"
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// SMTPSink is the dev and test mail server for Kratos's courier: recovery and
// verification codes that the browser flows send are written to a directory,
// named as FileMailer names them (so FileMailer.Last finds them), instead of
// going nowhere. It speaks just enough plain SMTP for a client that sends mail.
type SMTPSink struct {
	dir  string
	addr string // fixed for the sink's life: Kratos's config names it
	log  *slog.Logger
	wg   sync.WaitGroup
	mu   sync.Mutex
	ln   net.Listener // nil while closed
	seq  int
}

// StartSMTPSink listens on a free loopback port and writes each message to dir.
func StartSMTPSink(dir string, log *slog.Logger) (*SMTPSink, error) {
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("identity: smtp sink: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("identity: smtp sink: %w", err)
	}
	s := &SMTPSink{dir: dir, log: log, ln: ln, addr: ln.Addr().String()}
	s.wg.Add(1)
	go s.accept(ln)
	return s, nil
}

// URI is the courier's connection URI for this sink.
func (s *SMTPSink) URI() string {
	return "smtp://" + s.addr + "/?disable_starttls=true"
}

// Close stops listening and waits for open sessions to end. Closing a closed
// sink does nothing.
func (s *SMTPSink) Close() error {
	s.mu.Lock()
	ln := s.ln
	s.ln = nil
	s.mu.Unlock()
	if ln == nil {
		return nil
	}
	err := ln.Close()
	s.wg.Wait()
	return err
}

// open listens again on the same address after Close (a restarted Kratos keeps
// the address its configuration names). Opening an open sink does nothing.
func (s *SMTPSink) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("identity: smtp sink: %w", err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept(ln)
	return nil
}

func (s *SMTPSink) accept(ln net.Listener) {
	defer s.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
		}()
	}
}

func (s *SMTPSink) session(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(line string) bool {
		_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		w.WriteString(line + "\r\n")
		return w.Flush() == nil
	}
	if !reply("220 clientele-dev-mail ESMTP") {
		return
	}
	var rcpt []string
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			w.WriteString("250-clientele-dev-mail\r\n250-8BITMIME\r\n")
			if !reply("250 SMTPUTF8") {
				return
			}
		case strings.HasPrefix(cmd, "HELO"), strings.HasPrefix(cmd, "NOOP"):
			reply("250 OK")
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RSET"):
			rcpt = nil
			reply("250 OK")
		case strings.HasPrefix(cmd, "RCPT TO"):
			addr := strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])
			if i := strings.IndexByte(addr, ' '); i > 0 { // drop ESMTP parameters
				addr = addr[:i]
			}
			rcpt = append(rcpt, strings.Trim(addr, "<>"))
			reply("250 OK")
		case cmd == "DATA":
			if !reply("354 End data with <CR><LF>.<CR><LF>") {
				return
			}
			body, err := readData(r)
			if err != nil {
				return
			}
			for _, to := range rcpt {
				if err := s.write(to, body); err != nil {
					s.log.Warn("identity: smtp sink: write mail", "error", err.Error())
					reply("451 could not store the message")
					continue
				}
			}
			reply("250 OK: stored")
			rcpt = nil
		case cmd == "QUIT":
			reply("221 Bye")
			return
		default:
			reply("502 Command not implemented")
		}
	}
}

// readData reads a DATA section up to the lone dot, undoing dot-stuffing.
func readData(r *bufio.Reader) ([]byte, error) {
	var buf bytes.Buffer
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		if line == ".\r\n" || line == ".\n" {
			return buf.Bytes(), nil
		}
		if strings.HasPrefix(line, "..") {
			line = line[1:]
		}
		buf.WriteString(line)
	}
}

func (s *SMTPSink) write(to string, msg []byte) error {
	s.mu.Lock()
	s.seq++
	name := fmt.Sprintf("%s.%06d%s", time.Now().UTC().Format("20060102T150405.000000000Z"), s.seq%1000000, mailFileSuffix(to))
	s.mu.Unlock()
	if err := os.WriteFile(filepath.Join(s.dir, name), msg, 0o600); err != nil {
		return err
	}
	s.log.Info("mail written", "dir", s.dir, "recipient_domain", domainOf(to))
	return nil
}

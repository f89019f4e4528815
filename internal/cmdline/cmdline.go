// Package cmdline is what sweep's commands share to read their command line:
// flag sets whose mistakes come back as usage errors, flags between
// positional arguments, and `--help` on every command and subcommand, which
// prints that command's part of the usage and its own flags and succeeds.
package cmdline

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sweephq/sweep"
)

// UsageError is a mistake in the command line; it is printed with the usage
// and the program exits 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Sprintf(format, args...)}
}

// Help is returned when the command line asks for help (-h, -help or
// --help): the program prints it (Print) and exits 0, having done nothing
// else.
type Help struct {
	Command string        // "imports start", or "imports" when no subcommand was named
	Flags   *flag.FlagSet // nil for a command without flags of its own
}

func (h Help) Error() string { return h.Command + ": help requested" }

// NewFlags returns a flag set for a command whose errors come back as usage
// errors, and whose -h, -help and --help come back as Help.
func NewFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// Parse parses args, which must hold only flags.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return Usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// ParseInterspersed parses flags that may come before, between or after the
// positional arguments (sweep import FILE --start --wait) and returns those.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		return Help{Command: fs.Name(), Flags: fs}
	}
	if err != nil {
		return Usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// IsHelp says whether arg asks for help.
func IsHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// AsksHelp says whether any argument before a "--" asks for help.
func AsksHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if IsHelp(a) {
			return true
		}
	}
	return false
}

// Print writes the help: the lines of usage (a program's whole usage text)
// that describe the command, then its flags.
func (h Help) Print(w io.Writer, program, usage string) {
	fmt.Fprintf(w, "Usage:\n%s", Section(usage, program, strings.Fields(h.Command)[0]))
	if h.Flags == nil {
		return
	}
	n := 0
	h.Flags.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "\nFlags of %s %s:\n", program, h.Command)
	h.Flags.SetOutput(w)
	h.Flags.PrintDefaults()
	h.Flags.SetOutput(io.Discard)
}

// Section returns the lines of usage that describe command: each line
// "  PROGRAM COMMAND ..." with the indented lines that continue it.
func Section(usage, program, command string) string {
	var b strings.Builder
	in := false
	prefix := "  " + program + " " + command
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case line == prefix || strings.HasPrefix(line, prefix+" "):
			in = true
		case strings.HasPrefix(line, "    ") && in:
		default:
			in = false
		}
		if in {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// Commands lists the commands and subcommands the usage text describes, as
// "import", "imports list", "imports show": every line "  PROGRAM CMD A|B|C ...".
// Tests hold every one of them to answer --help.
func Commands(usage, program string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(c string) {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, line := range strings.Split(usage, "\n") {
		rest, ok := strings.CutPrefix(line, "  "+program+" ")
		if !ok {
			continue
		}
		// The synopsis ends where the description begins, after a gap.
		if i := strings.Index(rest, "   "); i >= 0 {
			rest = rest[:i]
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		pieces := strings.Split(strings.TrimPrefix(rest, f[0]), "|")
		if w := strings.Fields(pieces[0]); len(w) == 0 || !isSubcommand(w[0]) {
			add(f[0])
			continue
		}
		for i, piece := range pieces {
			w := strings.Fields(piece)
			if len(w) == 0 || !isSubcommand(w[0]) || i > 0 && isFlagValue(pieces[i-1]) {
				continue
			}
			add(f[0] + " " + w[0])
		}
	}
	return out
}

// HasSubcommands says whether the usage lists subcommands of command.
func HasSubcommands(usage, program, command string) bool {
	for _, c := range Commands(usage, program) {
		if strings.HasPrefix(c, command+" ") {
			return true
		}
	}
	return false
}

// isFlagValue says whether a piece before a "|" ends in a flag's value
// ("--approval-threshold N|default"), so what follows the bar is another
// value rather than another subcommand ("approve ID --confirm N | reject").
func isFlagValue(piece string) bool {
	if strings.HasSuffix(piece, " ") {
		return false
	}
	w := strings.Fields(piece)
	return len(w) >= 2 && strings.HasPrefix(w[len(w)-2], "--") && !strings.HasSuffix(w[len(w)-1], "]")
}

// isSubcommand says whether a usage word names a subcommand ("list",
// "rotate-secret") rather than an argument ("FILE", "ID") or a flag.
func isSubcommand(w string) bool {
	for i, r := range w {
		if !(r >= 'a' && r <= 'z' || i > 0 && r == '-') {
			return false
		}
	}
	return w != ""
}

// IsTerminal says whether w is a terminal (progress bars and text logs
// are for people).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Describe is err as a person at the terminal reads it: the message a
// *sweep.Error carries, or the whole chain for an internal error.
func Describe(err error) string {
	if sweep.ErrorCode(err) == sweep.EINTERNAL {
		return err.Error()
	}
	return sweep.ErrorMessage(err)
}

// APIError shows an error of the API as the message the API wrote for the
// person at the terminal; the *sweep.Error stays in the chain, so
// sweep.ErrorCode still tells what went wrong.
type APIError struct{ Err error }

func (e APIError) Error() string {
	var se *sweep.Error
	if errors.As(e.Err, &se) {
		return se.Message
	}
	return e.Err.Error()
}

func (e APIError) Unwrap() error { return e.Err }

// Shown wraps an API client's error in an APIError (nil stays nil).
func Shown(err error) error {
	if err == nil {
		return nil
	}
	return APIError{err}
}

// Program is one of sweep's binaries: its name, version and whole usage
// text, and the function that runs one of its commands.
type Program struct {
	Name     string
	Version  string
	Usage    string
	Dispatch func(ctx context.Context, cmd string, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// Run executes one command line: main without the process, which tests
// call. It answers help and version itself. A command line that asks for
// help (--help anywhere before "--", as the command's flags parse it, or
// right after a command that has subcommands) does nothing but print the
// command's usage and flags.
func (p Program) Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := p.run(ctx, args, getenv, stdout, stderr)
	var h Help
	if errors.As(err, &h) {
		h.Print(stdout, p.Name, p.Usage)
		return nil
	}
	return err
}

func (p Program) run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return UsageError{"no command given"}
	}
	cmd, args := args[0], args[1:]
	switch {
	case IsHelp(cmd) || cmd == "help":
		fmt.Fprint(stdout, p.Usage)
		return nil
	case cmd == "version" || cmd == "--version":
		if err := Parse(NewFlags("version"), args); err != nil {
			return err
		}
		fmt.Fprintln(stdout, p.Name, p.Version)
		return nil
	case len(args) > 0 && IsHelp(args[0]) && HasSubcommands(p.Usage, p.Name, cmd):
		// CMD --help, before any subcommand: the command's part of the usage.
		return Help{Command: cmd}
	}
	return p.Dispatch(ctx, cmd, args, getenv, stdout, stderr)
}

// Main runs the process's command line until it ends or a signal stops it,
// and exits: 2 for a usage error (printed with the usage), the error's own
// status when it has one (ExitCode), else 1.
func (p Program) Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := p.Run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err == nil {
		return
	}
	var u UsageError
	if errors.As(err, &u) {
		fmt.Fprintf(os.Stderr, "%s: %v\n\n%s", p.Name, err, p.Usage)
		os.Exit(2)
	}
	var x interface{ ExitCode() int }
	if errors.As(err, &x) {
		if msg := err.Error(); msg != "" {
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.Name, msg)
		}
		os.Exit(x.ExitCode())
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
	os.Exit(1)
}

// Command guardian runs the Guardian hub and administers its store.
//
// Usage:
//
//	guardian serve [flags]            run the hub
//	guardian migrate [flags]          apply database migrations
//	guardian reporter add NAME        register a reporting service
//	guardian report show ID --justification WHY   print a stored report as JSON
//	guardian token add NAME --role R  create a bearer token (auditor)
//	guardian token add NAME --agency ID --role R   create a partner system's API token
//	guardian token list|revoke        list the API tokens, or revoke one
//	guardian user add NAME --org O --role R   add a person (prints their credentials once)
//	guardian user list                list the people, without secrets
//	guardian user disable NAME        disable a person and end their sessions
//	guardian user reset-mfa NAME      give a person a new second factor (prints it once)
//	guardian user unlock NAME         lift the lock of failed sign-ins
//	guardian webhook secret AGENCY    set a new webhook signing secret for an agency (prints it once)
//	guardian audit verify             verify the audit log of a store, or of a remote hub (--url)
//	guardian audit key                print the verifier key of the audit log's checkpoints
//	guardian network check [-v] FILE  validate a network file
//	guardian route explain ID [--json] print a report's evidence, triage, referrals and file hashes
//	guardian hashlist import FILE --name N --source S   import a hash list (CSV or VICS JSON)
//	guardian hashlist list            list the hash lists
//	guardian hashlist remove NAME     remove a hash list
//	guardian demo                     run the whole network on one machine: demo people,
//	                                  mail catcher, simulated reporting service
//	guardian simulate --url URL ...   drive a hub with synthetic traffic and measure it end to end
//	guardian version                  print the version
//
// Every command takes --data and --database, so that all of them work on the
// same store as serve. Each flag can also be set with an environment variable
// GUARDIAN_<NAME> (for example GUARDIAN_DATABASE); a flag on the command line
// wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			var ue usageError
			if errors.As(err, &ue) {
				fmt.Fprintf(os.Stderr, "guardian: %s\nTry: guardian %s -h\n", ue.msg, ue.cmd)
				os.Exit(2)
			}
			fmt.Fprintf(os.Stderr, "guardian: %v\n", err)
		}
		os.Exit(1)
	}
}

// Run dispatches to a subcommand. It is main without the process: tests call
// it directly.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return (&ServeCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "migrate":
		return (&MigrateCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "reporter":
		return (&ReporterCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "report":
		return (&ReportCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "audit":
		return (&AuditCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "user":
		return (&UserCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "token":
		return (&TokenCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "webhook":
		return (&WebhookCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "hashlist":
		return (&HashListCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "route":
		return (&RouteCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "network":
		return (&NetworkCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "demo":
		return (&DemoCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "simulate":
		return (&SimulateCommand{Stdout: stdout, Stderr: stderr}).Run(ctx, rest)
	case "version":
		fmt.Fprintln(stdout, "guardian", Version())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{cmd: "help", msg: fmt.Sprintf("unknown command %q", cmd)}
}

const usage = `Guardian moves reports of child sexual exploitation from the online services
that detect them to the agencies that can act on them.

Usage:
  guardian serve [--addr ADDR] [--data DIR] [--database URL] [--migrate]
                 [--tls-cert FILE --tls-key FILE] [--master-key-file FILE]
  guardian migrate [--data DIR] [--database URL] [--master-key-file FILE]
  guardian reporter add [--data DIR] [--database URL] NAME
  guardian report show [--data DIR] [--database URL] [--master-key-file FILE] ID --justification WHY
  guardian token add [--data DIR] [--database URL] NAME --role auditor|admin
  guardian token add [--data DIR] [--database URL] [--network FILE] NAME
                     --agency ID --role ROLE [--expires DAYSd|DATE]
  guardian token list [--data DIR] [--database URL]
  guardian token revoke [--data DIR] [--database URL] NAME
  guardian user add [--data DIR] [--database URL] [--network FILE] NAME
                    --org hub:ID|agency:ID --role ROLE [--role ROLE ...]
                    [--vetted-until DATE --training-until DATE] [--email ADDR]
  guardian user list [--data DIR] [--database URL]
  guardian user disable [--data DIR] [--database URL] NAME
  guardian user reset-mfa [--data DIR] [--database URL] [--network FILE] NAME
  guardian user unlock [--data DIR] [--database URL] NAME
  guardian webhook secret [--data DIR] [--database URL] [--network FILE] AGENCY
                                  a new signing secret for the agency's webhook (printed once)
  guardian audit verify [--data DIR] [--database URL] [--key KEY]
  guardian audit verify --url URL --checkpoint FILE [--key KEY]
  guardian audit key [--data DIR]
  guardian network check [-v] [FILE]
  guardian route explain ID [--json] [--master-key-file FILE]
                                  print a report's evidence, scores, triage, referrals and file hashes
  guardian hashlist import [--data DIR] [--database URL] FILE --name NAME --source SOURCE
                    [--format csv|vics] [--version V] [--categories SCHEME] [--force]
  guardian hashlist list [--data DIR] [--database URL]
  guardian hashlist remove [--data DIR] [--database URL] NAME
  guardian demo [--data ./guardian-demo] [--addr ADDR] [--reports N] [--report-every D] [--seed N]
  guardian simulate --url URL (--reporter N:P | --data DIR --reporters N) (--count N | --duration D) [--rate R] [--agency-bots]
  guardian version

Examples:
  guardian serve                                   # SQLite in ./guardian-data
  guardian serve --database postgres://guardian@127.0.0.1/guardian
  guardian reporter add example-chat               # prints the new credentials

Every flag can also be set as GUARDIAN_<FLAG> in the environment, e.g.
GUARDIAN_DATABASE. Run 'guardian COMMAND -h' for a command's flags.
`

// usageError is a mistake in the command line; main prints a hint with it.
type usageError struct{ cmd, msg string }

func (e usageError) Error() string { return e.msg }

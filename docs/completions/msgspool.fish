# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_msgspool_global_optspecs
    string join \n h/help V/version
end

function __fish_msgspool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_msgspool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_msgspool_using_subcommand
    set -l cmd (__fish_msgspool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c msgspool -n "__fish_msgspool_needs_command" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_needs_command" -s V -l version -d 'Print version'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "check" -d 'Check job files offline: every local rule, the payload, the due times'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "contact" -d 'Ask Bird whether a contact\'s WhatsApp service window is open, and until when'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "run" -d 'Run the daemon: take job files from the spool folder and send them when due'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "list" -d 'List sends, soonest due first (the queue unless --state says otherwise)'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "show" -d 'Show a job (or one send) with payloads, attempts, Bird\'s answers and its file'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "cancel" -d 'Cancel a job\'s pending sends, one send, or (with --all) every active job'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "retry" -d 'Schedule a failed or expired send again (with --all: every one that matches)'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "stats" -d 'Count sends per state and what finished in the last hour and day'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "migrate" -d 'Bring the database (SQLite file or PostgreSQL) to this msgspool\'s schema version'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "submit" -d 'Check job files (or a quick --to/--text job) and hand them to the spool atomically'
complete -c msgspool -n "__fish_msgspool_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -l config -d 'Daemon config (channels, time zone, schedule windows); default /etc/msgspool/config.toml when it exists, else built-in defaults' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -l now -d 'Take this RFC 3339 instant as the current time for every rule' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -l next -d 'Print the next N due instants of each valid job (RFC 3339, UTC), one per line' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -l message-format -d 'How problems are written on stderr: `human` (FILE:LINE:COL: error: FIELD: MESSAGE) or `json` (one object per line: file, line, column, field, message, severity)' -r -f -a "human\t''
json\t''"
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -l payload -d 'Print each valid file\'s JSON request body, one line per file'
complete -c msgspool -n "__fish_msgspool_using_subcommand check" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand contact" -l identifier -d 'The contact\'s identifier on the channel, e.g. the phone number +31612345678 (sent as Bird\'s `contactIdentifierValue`)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand contact" -l channel -d 'The channel\'s name in the config; optional when the config has exactly one' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand contact" -l config -d 'Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand contact" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -l config -d 'Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults (always the built-in defaults with --dry-run)' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -l spool -d 'Spool folder to take job files from (overrides the config; created if missing)' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -l database -d 'SQLite database file, or a postgres:// URL (overrides the config)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -l dry-run -d 'Send nothing: print each payload as a JSON line on stdout when due'
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -l log-json -d 'Log as JSON lines instead of text'
complete -c msgspool -n "__fish_msgspool_using_subcommand run" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l database -d 'The SQLite database file, or a postgres:// URL (the password from the config\'s `[postgres] password_file` or the pg-password credential); wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l state -d 'Only sends in these states (repeat or separate with commas; `all` for every state) [default: scheduled,sending]' -r -f -a "scheduled\t''
sending\t''
sent\t''
failed\t''
expired\t''
canceled\t''
replaced\t''
all\t'Every state'"
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l job -d 'Only the sends of this job' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l job-prefix -d 'Only the sends of jobs whose id starts with PREFIX' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l due-before -d 'Only sends due before this RFC 3339 instant' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l delivery -d 'Only sends whose latest delivery status from Bird is one of these (`delivered`, `delivery_failed`, `read`, ...; `unknown`: none reported yet; repeat or separate with commas)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l limit -d 'Show at most N sends; 0 shows all' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -l json -d 'One JSON object per line with every column, instead of a table'
complete -c msgspool -n "__fish_msgspool_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c msgspool -n "__fish_msgspool_using_subcommand show" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand show" -l database -d 'The SQLite database file, or a postgres:// URL (the password from the config\'s `[postgres] password_file` or the pg-password credential); wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand show" -l send -d 'Show this send (the SEND column of `msgspool list`) and its job, instead of a job' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand show" -l json -d 'One JSON object on one line instead of text'
complete -c msgspool -n "__fish_msgspool_using_subcommand show" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l database -d 'The SQLite database file, or a postgres:// URL (the password from the config\'s `[postgres] password_file` or the pg-password credential); wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l send -d 'Cancel only this send (the SEND column of `msgspool list`)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l job-prefix -d 'With --all: only jobs whose id starts with PREFIX' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l all -d 'Cancel every active job (only those matching --job-prefix when given)'
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -l json -d 'One JSON object per job or send instead of sentences'
complete -c msgspool -n "__fish_msgspool_using_subcommand cancel" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l database -d 'The SQLite database file, or a postgres:// URL (the password from the config\'s `[postgres] password_file` or the pg-password credential); wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l state -d 'With --all: only sends in these states [default: failed,expired]' -r -f -a "failed\t''
expired\t''"
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l job -d 'With --all: only the sends of this job' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l job-prefix -d 'With --all: only the sends of jobs whose id starts with PREFIX' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l validity -d 'With --force: the validity from now, e.g. 36h or 10m [default: the channel kind\'s default validity]' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l all -d 'Retry every failed or expired send (narrowed by --state, --job, --job-prefix)'
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l force -d 'Also retry sends whose expiry has passed: their expiry becomes now + the validity'
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -l json -d 'One JSON object per send instead of sentences'
complete -c msgspool -n "__fish_msgspool_using_subcommand retry" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand stats" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand stats" -l database -d 'The SQLite database file, or a postgres:// URL (the password from the config\'s `[postgres] password_file` or the pg-password credential); wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand stats" -l json -d 'One JSON object instead of tables'
complete -c msgspool -n "__fish_msgspool_using_subcommand stats" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand migrate" -l config -d 'Daemon config whose `database` key (or `[postgres]` table) names the database [default: /etc/msgspool/config.toml]' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand migrate" -l database -d 'The SQLite database file (created when missing), or a postgres:// URL; wins over the config\'s `database`' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand migrate" -s h -l help -d 'Print help'
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l config -d 'Daemon config; default /etc/msgspool/config.toml when it exists, else built-in defaults' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l spool -d 'Spool folder to hand jobs to (overrides the config\'s `spool`)' -r -F
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l to -d 'Quick form: the receiver\'s phone number (E.164, e.g. +31612345678)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l text -d 'Quick form: the message text' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l at -d 'Quick form: send at this RFC 3339 instant (`scheduledFor`); default: now' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l channel -d 'Quick form: the config\'s channel to send through (optional with one channel)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l tag -d 'Quick form: a tag (repeat for more, at most 10)' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -l id -d 'Quick form: the job id; default: a new unique id' -r
complete -c msgspool -n "__fish_msgspool_using_subcommand submit" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "check" -d 'Check job files offline: every local rule, the payload, the due times'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "contact" -d 'Ask Bird whether a contact\'s WhatsApp service window is open, and until when'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "run" -d 'Run the daemon: take job files from the spool folder and send them when due'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "list" -d 'List sends, soonest due first (the queue unless --state says otherwise)'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "show" -d 'Show a job (or one send) with payloads, attempts, Bird\'s answers and its file'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "cancel" -d 'Cancel a job\'s pending sends, one send, or (with --all) every active job'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "retry" -d 'Schedule a failed or expired send again (with --all: every one that matches)'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "stats" -d 'Count sends per state and what finished in the last hour and day'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "migrate" -d 'Bring the database (SQLite file or PostgreSQL) to this msgspool\'s schema version'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "submit" -d 'Check job files (or a quick --to/--text job) and hand them to the spool atomically'
complete -c msgspool -n "__fish_msgspool_using_subcommand help; and not __fish_seen_subcommand_from check contact run list show cancel retry stats migrate submit help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'

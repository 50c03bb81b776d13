/** Usage texts, one per command, in the shape of a man page. Keep them true to the code. */

const EXIT = `EXIT STATUS
  0  every file scanned was allowed
  1  at least one file was blocked (a policy violation)
  2  usage error, unreadable file or directory, or an invalid policy
     (2 wins over 1: a scan that could not read everything proves nothing)`;

const POLICY_OPT = `  --policy FILE
      Use this policy file. Without it: $PICKLE_GUARD_POLICY, else pickle-guard.yaml or
      .pickle-guard.yaml found walking up from the working directory to the nearest
      package.json, else the built-in "default" preset. An invalid policy is an error
      (exit 2); pickle-guard never falls back to a weaker policy.`;

export const MAIN_HELP = `NAME
  pickle-guard - allow-list scanner for the Python pickles inside ML model files

SYNOPSIS
  pickle-guard scan PATH... [options]
  pickle-guard explain FILE [--member M] [--disasm] [--policy FILE]
  pickle-guard policy check [FILE]
  pickle-guard policy suggest PATH... [--policy FILE]
  pickle-guard --help | --version
  pickle-guard COMMAND --help

DESCRIPTION
  pickle-guard reads PyTorch, TorchScript, joblib, NumPy and plain pickle files without
  executing them, resolves every global a real Unpickler would import, and checks each
  against an allow-list policy. Anything it cannot fully understand is a violation.

COMMANDS
  scan      Scan files and directory trees; text, JSON or SARIF output.
  explain   Show what a file's pickles would do when loaded, as Python-like code.
  policy    Validate the effective policy, or suggest allow entries for trusted models.

${EXIT}

ENVIRONMENT
  PICKLE_GUARD_POLICY  policy file used when --policy is not given
  NO_COLOR             plain output even on a terminal
  FORCE_COLOR          color even when piped
`;

export const SCAN_HELP = `NAME
  pickle-guard scan - check model files against the allow-list policy

SYNOPSIS
  pickle-guard scan PATH... [--policy FILE] [--format text|json|sarif] [--json]
                    [--jobs N] [--include GLOB]... [--exclude GLOB]... [--no-color]

DESCRIPTION
  Each PATH is a file or a directory. A file named on the command line is always
  scanned. Directories are walked recursively (symbolic links to directories are not
  followed; .git, .hg and .svn are skipped); a file found there is scanned when its
  first bytes look like a model (pickle, zip, NumPy, torch legacy, joblib compression
  magic), when its path matches the policy's artifact globs, or when it matches an
  --include glob. Files matching an --exclude glob are skipped.

OPTIONS
${POLICY_OPT}
  --format text|json|sarif
      text (default): one line per file, violations beneath, a summary; colored on a
      terminal. json: the versioned report documented in schema/report.schema.json.
      sarif: SARIF 2.1.0 for code-scanning dashboards (rule ids are finding codes).
  --json
      Same as --format json.
  --jobs N
      Scan with N worker threads (1 = in this thread). Default: all cores for 1000 or
      more files, else 1 (a worker's start-up costs more than scanning a few files).
  --include GLOB
      Also scan files under a directory argument whose path (relative to that
      directory) matches GLOB (picomatch syntax; a pattern without "/" matches the file
      name at any depth). Repeatable.
  --exclude GLOB
      Skip files whose relative path matches GLOB. Repeatable. Wins over --include.
  --no-color
      Plain text even on a terminal.

OUTPUT
  Results are printed in the order of the arguments and, within a directory, in sorted
  path order. On a terminal, a progress line on stderr shows long directory scans.

${EXIT}

EXAMPLES
  pickle-guard scan model.pt
  pickle-guard scan ./models --exclude 'cache/**' --json > report.json
  pickle-guard scan . --format sarif > pickle-guard.sarif
`;

export const EXPLAIN_HELP = `NAME
  pickle-guard explain - show what a model's pickles would do when loaded

SYNOPSIS
  pickle-guard explain FILE [--member M] [--disasm] [--policy FILE] [--no-color]

DESCRIPTION
  Decompiles every pickle in FILE (every member of a container that a loader would
  unpickle) into Python-like code: the imports, the calls they would make, the values
  assigned to variables, BUILD as obj.__setstate__(...) (attribute sets when the target
  is a module, class or function), SETITEM as d[k] = v. Nothing is executed. Lines
  the policy blocks are marked with "!" and the reason is printed beside them. The
  left column is the byte offset of the opcode behind the line, inside its member.

OPTIONS
  --member M
      Only the pickle stream of this container member (as printed in the headers,
      e.g. archive/data.pkl). An unknown member is a usage error.
  --disasm
      Print the opcode listing instead, with offsets (like Python's pickletools.dis).
${POLICY_OPT}
  --no-color
      Plain text even on a terminal.

${EXIT}

EXAMPLES
  pickle-guard explain suspicious.pkl
  pickle-guard explain model.pt --member archive/data.pkl --disasm
`;

export const POLICY_HELP = `NAME
  pickle-guard policy - validate a policy, or suggest entries for trusted models

SYNOPSIS
  pickle-guard policy check [FILE]
  pickle-guard policy suggest PATH... [--policy FILE]

DESCRIPTION
  check    Loads FILE (or the policy discovery would pick), validates it, and prints the
           effective policy with every "extends" resolved. An invalid policy prints the
           file, line and column and what to write instead, and exits 2.
  suggest  Scans models you trust (files and directories, as "scan" finds them) and
           prints the YAML allow: entries they need beyond the current policy. Entries
           on the known-dangerous list are never suggested; a warning says why.

OPTIONS
${POLICY_OPT}

EXIT STATUS
  0  the policy is valid (check); suggestions printed, possibly none (suggest)
  1  suggest: some model needs something that cannot be allowed (denied or dangerous)
  2  usage error, unreadable file, or an invalid policy
`;

export const HELP_BY_COMMAND: Record<string, string> = {
  scan: SCAN_HELP,
  explain: EXPLAIN_HELP,
  policy: POLICY_HELP,
};

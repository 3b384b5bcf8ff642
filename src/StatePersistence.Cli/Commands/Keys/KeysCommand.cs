using System.CommandLine;
using System.Globalization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;

namespace StatePersistence.Cli.Commands.Keys;

/// <summary>
/// <c>statectl keys create FILE | list | rotate | retire KEY | disable | verify</c>: the encryption key file's operations. The key
/// file is <c>--key-file FILE</c>, else <c>STATE_ENCRYPTION_KEY_FILE</c> (as the server reads it). Output names key
/// ids, never key material.
/// </summary>
internal static class KeysCommand
{
    private static readonly Option<string?> KeyFile = new Option<string?>("--key-file")
    {
        Description = $"The key file (default: ${EncryptionOptions.KeyFileVariable}).",
        HelpName = "FILE",
        Recursive = true,
    }.NotEmpty("the key file's path");

    public static Command Create()
    {
        var keys = new Command("keys", "Encryption keys: create a key file, list keys and what each still protects, rotate, retire, verify that everything decrypts.");
        keys.Options.Add(KeyFile);
        StoreChoice.AddOptionsTo(keys);
        keys.Subcommands.Add(CreateCommand());
        keys.Subcommands.Add(ListCommand());
        keys.Subcommands.Add(RotateCommand());
        keys.Subcommands.Add(RetireCommand());
        keys.Subcommands.Add(DisableCommand());
        keys.Subcommands.Add(VerifyCommand());
        return keys;
    }

    private static Command CreateCommand()
    {
        var file = new Argument<string>("FILE") { Description = "The key file to create (mode 0600; never inside the state directory)." }.NotEmpty("the path of the key file to create");
        var command = new Command("create", "Create a key file holding one new active key.") { file };
        command.SetHandler((context, parsed, _) =>
        {
            KeyFileLockWait.Announce(context.Error, parsed.GetValue(file)!);
            EncryptionKey key = EncryptionKeyOperations.Create(parsed.GetValue(file)!, context.StatePath);
            string path = Path.GetFullPath(parsed.GetValue(file)!);
            Report(context, new KeyChangeReport(path, key.Id, "created"), $"Created the key file '{path}' with the active key {key.Id}.");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static Command ListCommand()
    {
        var command = new Command("list", "List the keys, their states, and how many payloads and files under the state directory (or rows of a PostgreSQL store, --store postgres) each still protects.");
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            string file = ResolveKeyFile(parsed);
            StoreChoice store = StoreChoice.From(parsed);
            return store.IsPostgres
                ? KeysOnPostgres.List(context, file, await KeysOnPostgres.MeasureAsync(store, cancellation).ConfigureAwait(false))
                : List(context, file);
        });
        return command;
    }

    private static Command RotateCommand()
    {
        var command = new Command("rotate", "Add a new active key; the active one becomes retired (it still decrypts). A running server uses the new key within a second.");
        command.SetHandler((context, parsed, _) =>
        {
            string file = ResolveKeyFile(parsed);
            KeyFileLockWait.Announce(context.Error, file);
            // The key retired is the one active when the rotation had the key file's lock: one read before it may have
            // been retired already by a rotation run at the same time (each then printed the same, wrong, id).
            EncryptionKeyRotation rotation = EncryptionKeyOperations.RotateReportingRetired(file, context.StatePath);
            EncryptionKey key = rotation.Key;
            string? previous = rotation.RetiredKeyId;
            Report(context, new KeyChangeReport(file, key.Id, "activated", previous), previous is null
                ? $"The key {key.Id} is now active; no key was active before (encryption was off)."
                : $"The key {key.Id} is now active; {previous} is retired and still decrypts.");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static Command RetireCommand()
    {
        var key = new Argument<string>("KEY") { Description = "The key id." }.NotEmpty("a key id, as 'keys list' shows it");
        var revoke = new Option<bool>("--revoke")
        {
            Description = "Revoke instead: payloads sealed with the key are refused from then on; refused while any payload in the state directory (or row of a PostgreSQL store, --store postgres) is sealed with it.",
        };
        var remove = new Option<bool>("--remove") { Description = "Remove the key from the file; refused while any payload in the state directory (or row of a PostgreSQL store, --store postgres) is sealed with it, or any file moved aside (*.corrupt.*) or kept by a migration rollback (rolled-back.<timestamp>/)." };
        var loseMovedAside = new Option<bool>("--lose-moved-aside")
        {
            Description = "With --remove: remove the key although files moved aside (*.corrupt.*: damaged copies, torn tails kept aside, which may hold acknowledged data) or kept by a migration rollback (rolled-back.<timestamp>/: saves made since the migration) are sealed with it, accepting that they can never be decrypted.",
        };
        var acceptUnreadable = new Option<bool>("--accept-unreadable")
        {
            Description = "With --revoke: revoke the key without looking at what it still seals, accepting that those payloads can no longer be read (a server whose state is sealed with it cannot start) until 'keys retire KEY' makes it retired again.",
        };
        var command = new Command("retire", "Retire a key (it no longer seals, still decrypts); once nothing uses it, revoke it (nothing opens with it) or remove it.")
        {
            key, revoke, remove, loseMovedAside, acceptUnreadable,
        };
        command.SetHandler((context, parsed, _) =>
        {
            string file = ResolveKeyFile(parsed);
            string id = parsed.GetValue(key)!;
            // Each says what becomes of the key; given both, one was silently not done.
            if (parsed.GetValue(revoke) && parsed.GetValue(remove))
            {
                throw new CommandFailedException("--revoke and --remove are two ends for the key: --revoke keeps it in the file, refusing what it sealed; --remove takes it out once nothing uses it. Give one.", ExitCodes.Usage);
            }

            if (parsed.GetValue(acceptUnreadable) && !parsed.GetValue(revoke))
            {
                throw new CommandFailedException("--accept-unreadable goes with --revoke only.", ExitCodes.Usage);
            }

            KeyFileLockWait.Announce(context.Error, file);
            // A removal and a revocation look at where the payloads lie.
            if (parsed.GetValue(remove) && StoreChoice.From(parsed) is { IsPostgres: true } store)
            {
                if (parsed.GetValue(loseMovedAside))
                {
                    throw new CommandFailedException("--lose-moved-aside is for a state directory's files moved aside; a PostgreSQL store moves nothing aside.", ExitCodes.Usage);
                }

                KeysOnPostgres.Remove(file, id, store);
                Report(context, new KeyChangeReport(file, id, "removed"), $"The key {id} was removed from '{file}'; no row of the PostgreSQL store is sealed with it.");
                return Task.FromResult(ExitCodes.Success);
            }

            if (parsed.GetValue(remove))
            {
                // With --lose-moved-aside the library logs a Warning naming the files given up: said on standard error.
                EncryptionKeyOperations.Remove(file, id, context.StatePath, parsed.GetValue(loseMovedAside), new WarningLines(context.Error));
                Report(context, new KeyChangeReport(file, id, "removed"), $"The key {id} was removed from '{file}'.");
                return Task.FromResult(ExitCodes.Success);
            }

            if (parsed.GetValue(loseMovedAside))
            {
                throw new CommandFailedException("--lose-moved-aside goes with --remove only.", ExitCodes.Usage);
            }

            if (parsed.GetValue(revoke))
            {
                Revoke(context, parsed, file, id, parsed.GetValue(acceptUnreadable));
                return Task.FromResult(ExitCodes.Success);
            }

            EncryptionKeyOperations.SetState(file, id, EncryptionKeyState.Retired, context.StatePath);
            Report(context, new KeyChangeReport(file, id, "retired"), $"The key {id} is now retired.");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    /// <summary>
    /// <c>keys retire KEY --revoke</c>: refused while the store still holds payloads sealed with the key (the key a
    /// rotation or <c>keys disable</c> retired seals the whole state until the re-encryption has rewritten it, and a
    /// server cannot read its own state under a revoked key), unless the operator accepts that (a compromised key).
    /// </summary>
    private static void Revoke(CommandContext context, ParseResult parsed, string file, string id, bool acceptUnreadable)
    {
        if (acceptUnreadable)
        {
            EncryptionKeyOperations.SetState(file, id, EncryptionKeyState.Revoked, context.StatePath);
            context.Error.WriteLine($"statectl: warning: the key {id} was revoked without looking at what it still seals (--accept-unreadable): payloads sealed with it are refused from now on, by a running server within a second and at every start; 'statectl keys retire {id}' makes it retired again.");
        }
        else if (StoreChoice.From(parsed) is { IsPostgres: true } store)
        {
            KeysOnPostgres.Revoke(file, id, store);
        }
        else
        {
            EncryptionKeyOperations.Revoke(file, id, context.StatePath);
        }

        Report(context, new KeyChangeReport(file, id, "revoked"), $"The key {id} is now revoked.");
    }

    private static Command DisableCommand()
    {
        var command = new Command("disable",
            "Turn encryption off in place: retire the active key and leave none active. New payloads are stored in the clear; every key still decrypts; a running server rewrites sealed payloads in the clear.");
        command.SetHandler((context, parsed, _) =>
        {
            string file = ResolveKeyFile(parsed);
            KeyFileLockWait.Announce(context.Error, file);
            string previous = EncryptionKeyOperations.Disable(file, context.StatePath);
            Report(context, new KeyChangeReport(file, previous, "retired"),
                $"Encryption is off: the key {previous} is retired and no key is active. New payloads are stored in the clear; 'statectl keys list' shows what is still sealed.");
            return Task.FromResult(ExitCodes.Success);
        });
        return command;
    }

    private static Command VerifyCommand()
    {
        var command = new Command("verify", "Check that every payload in the state directory decrypts with the key file, opening each where it lies (read-only: no copy, nothing written, moved or repaired).");
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            string file = ResolveKeyFile(parsed);
            if (StoreChoice.From(parsed).IsPostgres)
            {
                throw new CommandFailedException("keys verify opens the payloads of a state directory; for a PostgreSQL store, 'keys list --store postgres' counts the rows under each key, and the instances report rows they cannot open (reencryption_files_remaining, the re-encryption's events).", ExitCodes.Usage);
            }

            // "Everything decrypts" of a folder holding nothing would vouch for a key over a state it never saw.
            StateDirectoryRequirement.Require(context.StatePath);
            IReadOnlyList<string> problems = await EncryptionVerification.VerifyAsync(context.StatePath, new AesGcmCodec(new KeyFileProvider(file, context.StatePath)), cancellation).ConfigureAwait(false);
            if (context.Json)
            {
                context.WriteJson(new KeyVerifyReport(context.StatePath, file, problems.Count == 0, problems), KeysJsonContext.Default.KeyVerifyReport);
            }
            else
            {
                foreach (string problem in problems)
                {
                    context.Console.MarkupLine("[red]problem[/] " + Markup.Escape(problem));
                }

                context.Console.MarkupLine(problems.Count == 0
                    ? $"Everything under '{Markup.Escape(context.StatePath)}' decrypts with '{Markup.Escape(file)}'."
                    : $"[red]{problems.Count} problem(s)[/] under '{Markup.Escape(context.StatePath)}'.");
            }

            return problems.Count == 0 ? ExitCodes.Success : ExitCodes.Failed;
        });
        return command;
    }

    private static int List(CommandContext context, string file)
    {
        EncryptionKeyRing ring = EncryptionKeyFile.Read(file, context.StatePath);

        // A mistyped path must not read as "0 payloads under every key": the rotation procedure removes a key on that.
        if (!Directory.Exists(context.StatePath))
        {
            throw MissingStateDirectory.Error(context.StatePath);
        }

        EncryptionKeyUsage usage = EncryptionKeyUsage.Measure(context.StatePath);
        var rows = ring.Keys.Select(k => Entry(k.Id, EncryptionKeyStateName(k.State), k.CreatedAt, usage)).ToList();

        // Data sealed with a key the file lacks (moved-aside files included): the next start would stop on it.
        rows.AddRange(usage.ByKey.Keys.Union(usage.MovedAsideByKey.Keys).Union(usage.RolledBackByKey.Keys).Where(id => ring.Find(id) is null).Order(StringComparer.Ordinal)
            .Select(id => Entry(id, "missing", null, usage)));
        bool missing = rows.Exists(r => r.State == "missing");
        if (context.Json)
        {
            context.WriteJson(new KeyListReport(file, context.StatePath, rows, usage.ClearFiles, usage.DamagedFiles, usage.BrokenLinks), KeysJsonContext.Default.KeyListReport);
        }
        else
        {
            // The key id whole on one line: an operator copies it into 'keys retire'.
            var table = new Table().AddColumn(new TableColumn("key").NoWrap()).AddColumn("state").AddColumn("created").AddColumn(new TableColumn("payloads").RightAligned())
                .AddColumn(new TableColumn("files").RightAligned()).AddColumn(new TableColumn("moved aside").RightAligned().NoWrap())
                .AddColumn(new TableColumn("rolled back").RightAligned().NoWrap());
            foreach (KeyListEntry row in rows)
            {
                table.AddRow(Markup.Escape(row.Id), row.State == "missing" ? "[red]missing[/]" : row.State,
                    row.CreatedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "", Number(row.Payloads), Number(row.Files), Number(row.MovedAside), Number(row.RolledBack));
            }

            table.Caption($"{Markup.Escape(file)}; {Number(usage.ClearFiles)} file(s) hold data in the clear");
            context.Console.Write(table);
            foreach (string damaged in usage.DamagedFiles)
            {
                context.Console.MarkupLine($"[red]damaged[/] '{Markup.Escape(damaged)}': its envelope checksum fails, so the key it names cannot be trusted ('statectl verify' lists it)");
            }

            foreach (string link in usage.BrokenLinks)
            {
                context.Console.MarkupLine($"[red]broken link[/] '{Markup.Escape(link)}' -> '{Markup.Escape(new FileInfo(link).LinkTarget ?? "")}': its target does not exist, so it holds nothing any key opens and the store cannot read it");
            }
        }

        return missing || usage.DamagedFiles.Count > 0 || usage.BrokenLinks.Count > 0 ? ExitCodes.Failed : ExitCodes.Success;
    }

    private static KeyListEntry Entry(string id, string state, DateTimeOffset? createdAt, EncryptionKeyUsage usage) =>
        new(id, state, createdAt, usage.For(id).Payloads, usage.For(id).Files, usage.MovedAsideFor(id).Count, usage.RolledBackFor(id).Count);

    private static string ResolveKeyFile(ParseResult parsed) =>
        parsed.GetValue(KeyFile) is { Length: > 0 } file ? Path.GetFullPath(file)
        : Environment.GetEnvironmentVariable(EncryptionOptions.KeyFileVariable) is { Length: > 0 } variable ? Path.GetFullPath(variable)
        : throw new CommandFailedException($"No key file: pass --key-file FILE or set {EncryptionOptions.KeyFileVariable}.", ExitCodes.Usage);

    private static void Report(CommandContext context, KeyChangeReport report, string text)
    {
        if (context.Json)
        {
            context.WriteJson(report, KeysJsonContext.Default.KeyChangeReport);
        }
        else
        {
            context.Console.WriteLine(text);
        }
    }

    internal static string EncryptionKeyStateName(EncryptionKeyState state) => state.ToString().ToLowerInvariant();

    internal static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

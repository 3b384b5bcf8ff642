using System.CommandLine;
using System.Globalization;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Encryption;
using StatePersistence.FileStore;
using StatePersistence.FileStore.Operations;

namespace StatePersistence.Cli.Commands.Health;

/// <summary>
/// <c>statectl health</c>: the directory's health as the server's check judges it (exists, writable, free space, lock
/// holder, disk use per kind, last recovery report), read-only. Exit 1 when Unhealthy. With <c>--store postgres</c>, a
/// PostgreSQL store's (<see cref="HealthOnPostgres"/>).
/// </summary>
internal static class HealthCommand
{
    private static readonly Option<long> LowDiskSpace = CreateLowDiskSpace();

    private static Option<long> CreateLowDiskSpace()
    {
        var option = new Option<long>("--low-disk-space-bytes")
        {
            Description = "Free space below which the directory is Degraded (the server's default: 100 MiB).",
            HelpName = "N",
            DefaultValueFactory = _ => StateDirectoryHealth.DefaultLowDiskSpaceBytes,
        };

        // Parsed here, not by the option's default converter: a value that is no number (abc, 99999999999999999999)
        // made the validator's read of it throw, and the process ended with a stack trace (exit 134). A negative
        // threshold would judge every volume's space as enough: bad usage too, named, not a silent Healthy.
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return StateDirectoryHealth.DefaultLowDiskSpaceBytes;
            }

            string text = result.Tokens[^1].Value;
            if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out long bytes))
            {
                result.AddError($"--low-disk-space-bytes '{text}' is not a whole number of bytes (0 to {long.MaxValue}).");
            }
            else if (bytes < 0)
            {
                result.AddError($"--low-disk-space-bytes {bytes} is negative: give a number of bytes, 0 or more.");
            }

            return bytes;
        };
        return option;
    }

    public static Command Create()
    {
        var command = new Command("health", "The state directory's health: exists, writable, free space, lock holder, disk use per kind, last recovery report; or a PostgreSQL store's (--store postgres). Exit 1 when Unhealthy.");
        command.Options.Add(LowDiskSpace);
        KeyFileOption.AddTo(command);
        StoreChoice.AddOptionsTo(command);
        command.SetHandler(async (context, parsed, cancellation) =>
        {
            if (StoreChoice.From(parsed) is { IsPostgres: true } store)
            {
                if (parsed.GetResult(LowDiskSpace) is { Implicit: false })
                {
                    throw new CommandFailedException("--low-disk-space-bytes is for a state directory's volume; a PostgreSQL store's space is the database server's.", ExitCodes.Usage);
                }

                return await HealthOnPostgres.RunAsync(context, store, cancellation).ConfigureAwait(false);
            }

            return Run(context, parsed.GetValue(LowDiskSpace));
        });
        return command;
    }

    private static int Run(CommandContext context, long lowDiskSpace)
    {
        // A missing directory is Unhealthy, not an error: the codec (which names the directory) is only asked for one that exists.
        StateDirectoryHealth health = StateDirectoryHealth.Inspect(context.StatePath, lowDiskSpace,
            Directory.Exists(context.StatePath) ? context.PayloadCodec() : null);
        int exit = health.Status == StateHealthStatus.Unhealthy ? ExitCodes.Failed : ExitCodes.Success;
        if (context.Json)
        {
            context.WriteJson(health, HealthJsonContext.Default.StateDirectoryHealth);
            return exit;
        }

        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("status", Markup.Escape(health.Status.ToString()));
        grid.AddRow("directory", Markup.Escape(health.StateDirectory));
        grid.AddRow("exists", health.Exists ? "yes" : "no");
        grid.AddRow("writable", health.Writable ? "yes" : "no");
        grid.AddRow("free", health.FreeBytes is { } free ? Number(free) + " bytes" : "-");
        grid.AddRow("lock held by", health.LockHolderProcessId is { } pid ? "process " + pid.ToString(CultureInfo.InvariantCulture) : "nobody (no server running)");
        grid.AddRow("last lock owner", Markup.Escape(health.LastLockOwner ?? "-"));
        grid.AddRow("revision", health.Revision?.ToString(CultureInfo.InvariantCulture) ?? "-");
        if (health.StateNotRead is not null)
        {
            grid.AddRow("[yellow]state[/]", Markup.Escape(NotReadHint));
        }

        grid.AddRow("tasks / sessions", $"{health.Tasks?.ToString(CultureInfo.InvariantCulture) ?? "-"} / {health.Sessions?.ToString(CultureInfo.InvariantCulture) ?? "-"}");
        grid.AddRow("last recovery", health.LastRecovery is { } r
            ? Markup.Escape($"{r.StartedAt:O}: {r.Quarantined.Count} moved aside, {r.Lost.Count} lost, {r.Warnings.Count} warnings"
                + (health.LastRecoveryIsFromAnEarlierStart ? " (an earlier start; the starts since found nothing)" : ""))
            : "no report (no start-up found damage or dropped bytes)");
        if (health.LastRecovery is { BytesDropped: true } cut)
        {
            // Torn tails are warnings, not corruption (a power cut leaves them), but a file cut short at rest looks the same.
            grid.AddRow("bytes dropped", Markup.Escape($"{cut.DroppedJournalBytes.Count + cut.DroppedSessionLogBytes.Count} range(s), "
                + $"{cut.DroppedJournalBytes.Concat(cut.DroppedSessionLogBytes).Count(d => d.KeptAs is not null)} kept aside; see recovery-report.json"));
        }
        context.Console.Write(grid);
        if (health.Usage is { } usage)
        {
            var table = new Table().AddColumn("kind").AddColumn(new TableColumn("files").RightAligned()).AddColumn(new TableColumn("bytes").RightAligned());
            foreach (StateDiskUsageKind kind in usage.Kinds)
            {
                table.AddRow(kind.Kind, Number(kind.Files), Number(kind.Bytes));
            }

            context.Console.Write(table);
        }

        foreach (string reason in health.Reasons)
        {
            context.Console.MarkupLine("[yellow]" + Markup.Escape(reason) + "[/]");
        }

        if (!health.Exists && MissingStateDirectory.PostgresHint() is { Length: > 0 } hint)
        {
            context.Console.MarkupLine("[yellow]" + Markup.Escape(hint.Trim()) + "[/]");
        }

        return exit;
    }

    /// <summary>What the table says when the state is encrypted and no key was given (the JSON has <c>stateNotRead</c>).</summary>
    private const string NotReadHint =
        "not read: it is encrypted and no key was given (pass --key-file FILE or set " + EncryptionOptions.KeyFileVariable + "); the status covers the rest";

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(StateDirectoryHealth))]
internal sealed partial class HealthJsonContext : JsonSerializerContext;

using System.Globalization;
using System.Text.Json.Serialization;
using Spectre.Console;
using StatePersistence.Cli.Infrastructure;
using StatePersistence.Postgres;

namespace StatePersistence.Cli.Commands.Health;

/// <summary>
/// <c>statectl health --store postgres</c>: a PostgreSQL store's health from outside its instances
/// (<see cref="PostgresHealth"/>); exit 1 when Unhealthy, as for a directory.
/// </summary>
internal static class HealthOnPostgres
{
    public static async Task<int> RunAsync(CommandContext context, StoreChoice store, CancellationToken cancellationToken)
    {
        PostgresStoreHealth health = await store.ReadAsync((connectionString, schema) =>
            PostgresHealth.CheckAsync(connectionString, schema, cancellationToken)).ConfigureAwait(false);
        int exit = health.Status == StateHealthStatus.Unhealthy ? ExitCodes.Failed : ExitCodes.Success;
        if (context.Json)
        {
            context.WriteJson(health, PostgresHealthJsonContext.Default.PostgresStoreHealth);
            return exit;
        }

        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("status", Markup.Escape(health.Status.ToString()));
        grid.AddRow("store", Markup.Escape(health.Location));
        grid.AddRow("reached", health.Reachable ? (health.Standby ? "yes, a read-only standby" : "yes, the primary") : "no");
        grid.AddRow("schema version", health.SchemaVersion is { } version
            ? Markup.Escape($"{Number(version)} (this build: {Number(health.BuildVersion)})") : "-");
        grid.AddRow("tasks / sessions", $"{Number(health.Tasks)} / {Number(health.Sessions)}");
        grid.AddRow("session logs / reports", $"{Number(health.SessionLogs)} / {Number(health.Reports)}");
        grid.AddRow("change log", health.Changes is null ? "-" : $"{Number(health.Changes)} rows, {Number(health.UnnumberedChanges)} not numbered yet");
        grid.AddRow("database size", health.DatabaseBytes is null ? "-" : Number(health.DatabaseBytes) + " bytes");
        grid.AddRow("connections", health.Connections is null ? "-" : $"{Number(health.Connections)} of {Number(health.MaxConnections)} (the cluster)");
        grid.AddRow("last retention pass", health.LastRetentionPass is { } pass ? pass.ToString("O", CultureInfo.InvariantCulture) : "none");
        context.Console.Write(grid);
        if (health.Clients.Count > 0)
        {
            var clients = new Table().AddColumn("application").AddColumn("address").AddColumn(new TableColumn("connections").RightAligned());
            foreach (PostgresClient client in health.Clients)
            {
                clients.AddRow(Markup.Escape(client.ApplicationName.Length == 0 ? "(none set)" : client.ApplicationName),
                    Markup.Escape(client.ClientAddress ?? "local"), Number(client.Connections));
            }

            clients.Caption("connected to the store's database");
            context.Console.Write(clients);
        }

        foreach (string reason in health.Reasons)
        {
            context.Console.MarkupLine((health.Status == StateHealthStatus.Unhealthy ? "[red]" : "[yellow]") + Markup.Escape(reason) + "[/]");
        }

        return exit;
    }

    private static string Number(long? value) => value?.ToString("N0", CultureInfo.InvariantCulture) ?? "-";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(PostgresStoreHealth))]
internal sealed partial class PostgresHealthJsonContext : JsonSerializerContext;

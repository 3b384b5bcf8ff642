using System.Diagnostics;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.Ids;
using StatePersistence.Serialization;

namespace StatePersistence;

public sealed partial class StatePersistenceService
{
    /// <inheritdoc />
    public async ValueTask<string> SaveReportAsync(string reportId, JsonElement report, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        if (report.ValueKind == JsonValueKind.Undefined)
        {
            throw new StateValidationException("report", "the report has no JSON value");
        }

        ThrowIfDisposed();
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(report, StateJsonContext.Default.JsonElement);
        long started = Stopwatch.GetTimestamp();
        string path;
        try
        {
            path = await _store.SaveReportAsync(reportId, json, _options.Durability, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            OnSaveFailed("save-report", Location, ex);
            throw;
        }

        OnSaved("report", path, Committer.Durable.Revision, Stopwatch.GetElapsedTime(started));
        return path;
    }

    /// <inheritdoc />
    public async ValueTask<JsonElement?> LoadReportAsync(string reportId, CancellationToken cancellationToken = default)
    {
        StateId.Validate(reportId, "report");
        byte[]? json = await _store.LoadReportAsync(reportId, cancellationToken).ConfigureAwait(false);
        return json is null ? null : JsonSerializer.Deserialize(json, StateJsonContext.Default.JsonElement);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<string>> ListReportsAsync(CancellationToken cancellationToken = default) =>
        _store.ListReportsAsync(cancellationToken);
}

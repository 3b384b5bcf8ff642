using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using StatePersistence.Diagnostics;
using StatePersistence.FileStore;
using StatePersistence.Model;
using StatePersistence.Serialization;
using StatePersistence.Server.Tests.Support;
using static StatePersistence.Server.Tests.Support.Http;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>
/// A final snapshot that fails at shutdown is reported (raised as <c>StateSaveError</c>, and as <c>ShutdownSaved</c> with
/// its error) and the host's stop goes on, whatever the failure is. Before 2026-12-07 only the library's own
/// <c>StatePersistenceException</c> was handled so: any other (an application codec's or key provider's exception, a
/// KMS out of reach; <c>OutOfMemoryException</c> for a state larger than the heap) escaped <c>DisposeAsync</c>, the
/// host's <c>StopAsync</c> and its disposal threw it (the state server ended with an unhandled exception), and
/// <c>ShutdownSaved</c> was never raised.
/// </summary>
public sealed class FinalSnapshotFailureTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private string StatePath => _directory.Combine("state");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task AFinalSnapshotFailingWithAnApplicationCodecsException_IsReported_AndTheHostStopsCleanly()
    {
        var codec = new SnapshotFailingCodec();
        HostApplicationBuilder builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(
            [new("StatePersistence:StatePath", StatePath), new("StatePersistence:AutosaveInterval", "01:00:00")]);
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IPayloadCodec>(codec);
        builder.Services.AddStatePersistence();
        IHost host = builder.Build();
        await host.StartAsync(Ct);
        IStatePersistence persistence = host.Services.GetRequiredService<IStatePersistence>();
        var shutdown = new List<ShutdownSaveEventArgs>();
        var errors = new List<StateSaveErrorEventArgs>();
        persistence.ShutdownSaved += (_, e) => shutdown.Add(e);
        persistence.StateSaveError += (_, e) => errors.Add(e);
        await persistence.SaveTaskAsync(new AgentTask { Id = "task_1", Description = "acknowledged before the stop" }, Ct);
        codec.FailSnapshots = true;

        Exception? stopped = await Record.ExceptionAsync(() => host.StopAsync(Ct));
        Exception? disposed = await Record.ExceptionAsync(() => ((IAsyncDisposable)host).DisposeAsync().AsTask());

        Assert.Null(stopped);
        Assert.Null(disposed);
        ShutdownSaveEventArgs final = Assert.Single(shutdown);
        Assert.IsType<CryptographicException>(final.Error);
        StateSaveErrorEventArgs error = Assert.Single(errors);
        Assert.Equal("snapshot", error.Operation);

        // Nothing acknowledged is lost: the journal holds the save the snapshot could not fold in.
        codec.FailSnapshots = false;
        await using StatePersistenceService reopened = await FileStatePersistence.OpenAsync(
            new StatePersistenceOptions { StatePath = StatePath, PayloadCodec = codec }, cancellationToken: Ct);
        Assert.Equal("acknowledged before the stop", (await reopened.LoadTaskAsync("task_1", Ct))?.Description);
    }

    /// <summary>Stores payloads as they are, and fails every snapshot while <see cref="FailSnapshots"/> is set, as a KMS out of reach would.</summary>
    private sealed class SnapshotFailingCodec : IPayloadCodec
    {
        private volatile bool _failSnapshots;

        public bool FailSnapshots
        {
            get => _failSnapshots;
            set => _failSnapshots = value;
        }

        public string Name => "snapshot-failing";

        public byte[] Encode(ReadOnlySpan<byte> plain, PayloadContext context) =>
            _failSnapshots && context.Kind == PayloadKind.Snapshot
                ? throw new CryptographicException("The key management service could not be reached.")
                : plain.ToArray();

        public byte[] Decode(ReadOnlySpan<byte> stored, PayloadContext context) => stored.ToArray();
    }
}

using System.Net;
using System.Net.Sockets;
using StatePersistence.Server.Tests.Support;

namespace StatePersistence.Server.Tests.Hosting;

/// <summary>The real process started on an address another process listens on.</summary>
public sealed class AddressInUseTests : IDisposable
{
    private readonly string _statePath = Path.Combine(Path.GetTempPath(), "sp-address-in-use-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AnAddressAlreadyInUse_ExitsWith2AndOneLineNamingIt_NotACrash()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        int port = ((IPEndPoint)holder.LocalEndpoint).Port;

        await using ServerProcess server = ServerProcess.Launch(port, ["--urls", $"http://127.0.0.1:{port}", "--state-path", _statePath]);

        Assert.Equal(2, await server.WaitForExitAsync());
        Assert.Contains($"statepersistence-server: Failed to bind to address http://127.0.0.1:{port}: address already in use.", server.Output, StringComparison.Ordinal);
        Assert.Contains("choose another address (--urls)", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        if (Directory.Exists(_statePath))
        {
            Directory.Delete(_statePath, recursive: true);
        }
    }
}

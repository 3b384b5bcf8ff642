namespace StatePersistence.Postgres.Tests.Support;

/// <summary>Ports of the loopback interface for tests that need a database nobody answers at.</summary>
internal static class LocalPorts
{
    /// <summary>A port of 127.0.0.1 nothing listens on (taken from the system, then released).</summary>
    public static int Unused()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

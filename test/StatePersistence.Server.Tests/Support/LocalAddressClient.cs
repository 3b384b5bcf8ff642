using System.Net;
using System.Net.Sockets;

namespace StatePersistence.Server.Tests.Support;

/// <summary>
/// An <see cref="HttpClient"/> whose connections leave from a chosen loopback address (127.0.0.2, 127.0.0.3: on Linux the
/// whole 127.0.0.0/8 is this machine), so that a real server sees requests from different client addresses.
/// </summary>
public static class LocalAddressClient
{
    public static HttpClient Create(string localAddress, int port) =>
        new(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(localAddress), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}"),
        };
}

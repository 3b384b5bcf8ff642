using System.Net;
using System.Net.Sockets;
using System.Text;
using Npgsql;

namespace StatePersistence.Postgres.Tests.Support;

/// <summary>
/// A TCP proxy in front of the test database that can cut one connection at its next <c>COMMIT</c> (the simple-query
/// message Npgsql sends for <see cref="NpgsqlTransaction.CommitAsync"/>, or a batch holding the statement unprepared):
/// either after the database got it and
/// answered, dropping the answer (<see cref="Cut.AnswerLost"/>: the commit happened, the client never hears it), or
/// before it reached the database (<see cref="Cut.CommitLost"/>: the transaction never commits), or after the database
/// answered, holding the answer back on a connection left open (<see cref="Cut.AnswerHeld"/>: the client waits, as for a
/// network that stopped delivering, until it gives up itself). Everything else is passed through byte for byte.
/// </summary>
public sealed class CommitCuttingProxy : IAsyncDisposable
{
    // The statement's text as it travels: in a simple query (a transaction's CommitAsync) or a Parse message (a COMMIT
    // in a batch, while it is not prepared), always ended by a NUL.
    private static readonly byte[] CommitMessage = [.. Encoding.ASCII.GetBytes("COMMIT"), 0];

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _tasks = [];
    private int _armed;
    private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public enum Cut
    {
        None,

        /// <summary>The COMMIT reaches the database, which commits and answers; the answer is dropped with the connection.</summary>
        AnswerLost,

        /// <summary>The connection is dropped with the COMMIT, which never reaches the database.</summary>
        CommitLost,

        /// <summary>
        /// The COMMIT reaches the database, which commits and answers; the answer (and anything after it) is never
        /// delivered, and the connection stays open until the client closes it.
        /// </summary>
        AnswerHeld,
    }

    public CommitCuttingProxy()
    {
        var target = new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString);
        _target = new IPEndPoint(IPAddress.Parse(target.Host!), target.Port);
        _listener.Start();
        _tasks.Add(AcceptAsync());
    }

    /// <summary>The test database's connection string, through this proxy.</summary>
    public string ConnectionString => new NpgsqlConnectionStringBuilder(PostgresServer.ConnectionString)
    {
        Host = "127.0.0.1",
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
        // A prepared statement travels by name, not by its text, which this proxy looks for.
        MaxAutoPrepare = 0,
    }.ConnectionString;

    /// <summary>Cuts the next connection that sends a COMMIT as <paramref name="cut"/> says; completes once it is cut.</summary>
    public Task Arm(Cut cut)
    {
        _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _armed, (int)cut);
        return _done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Task.WhenAll(_tasks);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // The proxy is going: its connections end with it.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client = await _listener.AcceptSocketAsync(_stop.Token);
            var server = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await server.ConnectAsync(_target, _stop.Token);
            var link = new Link(client, server);
            lock (_tasks)
            {
                _tasks.Add(Quietly(ToServerAsync(link)));
                _tasks.Add(Quietly(ToClientAsync(link)));
            }
        }
    }

    private async Task ToServerAsync(Link link)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read = await link.Client.ReceiveAsync(buffer, _stop.Token);
            if (read == 0)
            {
                link.Close();
                return;
            }

            if (buffer.AsSpan(0, read).IndexOf(CommitMessage) >= 0 && (Cut)Interlocked.Exchange(ref _armed, (int)Cut.None) is var cut and not Cut.None)
            {
                if (cut == Cut.CommitLost)
                {
                    _done.TrySetResult();
                    link.Close();
                    return;
                }

                link.DropAnswer = true;
                link.KeepOpen = cut == Cut.AnswerHeld;
            }

            await link.Server.SendAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    private async Task ToClientAsync(Link link)
    {
        var buffer = new byte[64 * 1024];
        while (true)
        {
            int read = await link.Server.ReceiveAsync(buffer, _stop.Token);
            if (read > 0 && link.DropAnswer && link.KeepOpen)
            {
                // Answered (committed), and never delivered: the client is left waiting on an open connection.
                _done.TrySetResult();
                continue;
            }

            if (read == 0 || link.DropAnswer)
            {
                // The database answered the COMMIT (it committed): the client never hears it. Marked done first, so
                // that the client's failure, which the close causes, never comes before it.
                if (link.DropAnswer)
                {
                    _done.TrySetResult();
                }

                link.Close();
                return;
            }

            await link.Client.SendAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    private static async Task Quietly(Task pump)
    {
        try
        {
            await pump;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
        {
            // A connection cut or closed: what this proxy is for.
        }
    }

    private sealed class Link(Socket client, Socket server)
    {
        public Socket Client { get; } = client;

        public Socket Server { get; } = server;

        public volatile bool DropAnswer;

        public volatile bool KeepOpen;

        public void Close()
        {
            Client.Dispose();
            Server.Dispose();
        }
    }
}

using System.Runtime.InteropServices;

namespace StatePersistence.Cli.Infrastructure;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for every command. Outside a change, a signal cancels the command's token; a command
/// that has not stopped <see cref="GracePeriod"/> later is left behind (<see cref="CommandActions"/>) and the process
/// ends with <see cref="ExitCodes.Interrupted"/> (130), as System.CommandLine's own handling did. Inside a change (<see cref="Defer"/>: an archive, a restore, a rebuild, a migration, from the open of
/// the directory to its final snapshot), the first signal does not cancel: the change runs to its end and the command
/// prints its result, because a change stopped between its steps is left half-done (an archive written but its tasks
/// still live, a committed restore that never names the backup holding the state before it, logs half removed).
/// A second signal there ends the process at once, which is as safe as a kill -9 (the library's recovery) but leaves
/// what a kill leaves.
/// </summary>
internal sealed class Interruption : IDisposable
{
    /// <summary>How long a command outside a change has to stop after its token is cancelled.</summary>
    public static readonly TimeSpan GracePeriod = TimeSpan.FromSeconds(2);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _cancellation = new();
    private readonly TextWriter _error;
    private readonly PosixSignalRegistration[] _registrations;
    private string? _change;
    private bool _signalledDuringChange;

    private Interruption(TextWriter error)
    {
        _error = error;
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal)];
    }

    /// <summary>The process's handler, registered by <see cref="Statectl.RunAsync"/> before the command runs.</summary>
    public static Interruption? Current { get; private set; }

    /// <summary>Cancelled by a signal that arrived outside a change.</summary>
    public CancellationToken Token => _cancellation.Token;

    public static Interruption Register(TextWriter error) => Current = new Interruption(error);

    /// <summary>
    /// Marks the start of a change to the state directory, named for the message (<paramref name="change"/>: "the
    /// archive"); disposing the result marks its end. A signal that came before the change started stops it from starting.
    /// </summary>
    public static IDisposable Defer(string change)
    {
        if (Current is not { } current)
        {
            return NoChange.Instance;
        }

        lock (current._gate)
        {
            current._cancellation.Token.ThrowIfCancellationRequested();
            current._change = change;
        }

        return new ChangeScope(current);
    }

    private void OnSignal(PosixSignalContext context)
    {
        lock (_gate)
        {
            if (_change is null)
            {
                context.Cancel = true;
                _cancellation.Cancel();

                return;
            }

            if (_signalledDuringChange)
            {
                // The second one: the operator insists. The default action ends the process now.
                return;
            }

            _signalledDuringChange = true;
            context.Cancel = true;
            _error.WriteLine($"statectl: {context.Signal} received while {_change} is changing the state directory: it finishes first, "
                + "so that nothing is left half-done, and prints its result. A second signal stops it at once, as a kill -9 would "
                + "(the next start recovers; run the command again to finish it).");
            _error.Flush();
        }
    }

    private void EndChange()
    {
        lock (_gate)
        {
            _change = null;
        }
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
        {
            registration.Dispose();
        }

        _cancellation.Dispose();
    }

    private sealed class ChangeScope(Interruption owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.EndChange();
            }
        }
    }

    private sealed class NoChange : IDisposable
    {
        public static readonly NoChange Instance = new();

        public void Dispose()
        {
        }
    }
}

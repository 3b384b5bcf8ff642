using System.Diagnostics;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using StatePersistence.CrashTests.Support;
using StatePersistence.Model;
using StatePersistence.Testing.Processes;

namespace StatePersistence.CrashTests.Kill;

/// <summary>
/// One state directory, killed again and again: each life is a real child process saving tasks in a loop and
/// printing <c>ack &lt;id&gt;</c> after each durable save; the test SIGKILLs it at a seeded random moment (during
/// start-up recovery, right after it, or after a random number of acks, autosaves running), restarts it on the same
/// directory, and checks from the restarted child's listing that every acknowledged task is there, intact.
/// </summary>
internal sealed class KillLoop(int index, int lives, Violations violations, bool encrypted = false)
{
    private static readonly TimeSpan LineDeadline = TimeSpan.FromMinutes(1);

    private readonly Random _random = new(ReliabilityLedger.Seed + (index * 7919));
    private readonly HashSet<string> _acknowledged = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inFlight = new(StringComparer.Ordinal);

    private string? _keyFile;

    /// <summary>The children's environment: the key file when the loop runs encrypted.</summary>
    private Dictionary<string, string> Environment => _keyFile is null ? [] : new() { ["STATE_ENCRYPTION_KEY_FILE"] = _keyFile };

    public int Kills { get; private set; }

    public int ChildStarts { get; private set; }

    public long AcksChecked { get; private set; }

    public async Task RunAsync()
    {
        using var directory = new TempDirectory();
        string state = directory.File("state");
        if (encrypted)
        {
            _keyFile = directory.File("keys.json");
            StatePersistence.Encryption.EncryptionKeyFile.Create(_keyFile);
        }

        for (int life = 0; life < lives; life++)
        {
            await LifeAsync(state, $"k{life}");
        }

        await VerifyAsync(state);
        if (encrypted)
        {
            CheckNothingInTheClear(state);
        }
    }

    /// <summary>Every description is 200 'x's and the id: with encryption on, no file under the directory holds even 32 of them.</summary>
    private void CheckNothingInTheClear(string state)
    {
        byte[] run = Encoding.ASCII.GetBytes(new string('x', 32));
        foreach (string file in Directory.GetFiles(state, "*", SearchOption.AllDirectories))
        {
            if (File.ReadAllBytes(file).AsSpan().IndexOf(run) >= 0)
            {
                violations.Add($"kill loop {index}: '{file}' holds a task description in the clear although encryption is on");
            }
        }
    }

    private async Task LifeAsync(string state, string prefix)
    {
        // Where the kill lands: in start-up recovery, just after it, or after some acks (long lives span autosaves).
        double roll = _random.NextDouble();
        int killAfterAcks = roll < 0.15 ? -2 : roll < 0.3 ? -1 : roll < 0.95 ? _random.Next(1, 30) : _random.Next(50, 300);
        string autosave = _random.Next(20, 200).ToString(CultureInfo.InvariantCulture);
        string where = $"kill loop {index}, life {prefix} (kill {(killAfterAcks == -2 ? "after 'starting'" : killAfterAcks == -1 ? "after 'ready'" : $"after {killAfterAcks} acks")})";

        using Process child = ChildProcess.Start(Environment, "save-loop", state, prefix, "--list", "--autosave-ms", autosave);
        ChildStarts++;
        Task<string> errors = child.StandardError.ReadToEndAsync();
        var listing = new List<string>();
        long next = 0;
        bool kill = false;
        while (!kill)
        {
            string? line = await child.StandardOutput.ReadLineAsync().WaitAsync(LineDeadline);
            if (line is null)
            {
                await child.WaitForExitAsync();
                violations.Add($"{where}: the child exited by itself with code {child.ExitCode}: {await errors}");
                return;
            }

            if (line == "starting")
            {
                kill = killAfterAcks == -2;
            }
            else if (line.StartsWith("task ", StringComparison.Ordinal))
            {
                listing.Add(line);
            }
            else if (line == "ready")
            {
                CheckListing(listing, where + ", after restart");
                kill = killAfterAcks == -1;
            }
            else if (!TryAcknowledge(line, prefix, ref next, where))
            {
                violations.Add($"{where}: unexpected output '{line}'");
            }
            else
            {
                kill = next == killAfterAcks;
            }
        }

        child.Kill(entireProcessTree: true);
        Kills++;
        await child.WaitForExitAsync();

        // Acks printed before the SIGKILL but not yet read are acknowledged too; a line cut short is not complete.
        string rest = await child.StandardOutput.ReadToEndAsync();
        foreach (string line in rest.Split('\n').SkipLast(1).Where(l => l.StartsWith("ack ", StringComparison.Ordinal)))
        {
            TryAcknowledge(line, prefix, ref next, where);
        }

        _inFlight.Add($"{prefix}_{next}");
        await errors;
    }

    /// <summary>An ack must name the next id of this life: the loop saves them in order.</summary>
    private bool TryAcknowledge(string line, string prefix, ref long next, string where)
    {
        if (!line.StartsWith("ack ", StringComparison.Ordinal))
        {
            return false;
        }

        string id = line["ack ".Length..];
        if (id != $"{prefix}_{next}")
        {
            violations.Add($"{where}: acknowledged '{id}' out of order (expected {prefix}_{next})");
            return true;
        }

        _acknowledged.Add(id);
        next++;
        return true;
    }

    /// <summary>Every acknowledged task is listed, intact; nothing listed was never saved.</summary>
    private void CheckListing(List<string> listing, string where)
    {
        var seen = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (string line in listing)
        {
            string[] fields = line.Split(' ');
            seen[fields[1]] = fields;
        }

        foreach (string id in _acknowledged)
        {
            if (!seen.TryGetValue(id, out string[]? fields))
            {
                violations.Add($"{where}: acknowledged task {id} is missing");
            }
            else if (fields.Length != 5 || fields[2] != TaskStatuses.InProgress || fields[3] != ExpectedLength(id) || fields[4] != ExpectedCrc(id))
            {
                violations.Add($"{where}: acknowledged task {id} is not intact: '{string.Join(' ', fields)}'");
            }
        }

        foreach (string id in seen.Keys.Where(id => !_acknowledged.Contains(id)))
        {
            // The save a kill interrupted may have reached the page cache; once listed it must stay.
            if (_inFlight.Contains(id))
            {
                _acknowledged.Add(id);
            }
            else
            {
                violations.Add($"{where}: task {id} is listed but was never saved");
            }
        }

        _inFlight.Clear();
        AcksChecked += _acknowledged.Count;
    }

    private async Task VerifyAsync(string state)
    {
        using Process child = ChildProcess.Start(Environment, "verify", state);
        ChildStarts++;
        Task<string> errors = child.StandardError.ReadToEndAsync();
        string output = await child.StandardOutput.ReadToEndAsync().WaitAsync(LineDeadline);
        await child.WaitForExitAsync();
        if (child.ExitCode != 0)
        {
            violations.Add($"kill loop {index}, final verify: exited with code {child.ExitCode}: {await errors}");
            return;
        }

        CheckListing([.. output.Split('\n').Where(l => l.StartsWith("task ", StringComparison.Ordinal))], $"kill loop {index}, final verify");
    }

    private static string ExpectedLength(string id) => (200 + id.Length).ToString(CultureInfo.InvariantCulture);

    private static string ExpectedCrc(string id) =>
        Crc32.HashToUInt32(Encoding.UTF8.GetBytes(new string('x', 200) + id)).ToString("x8", CultureInfo.InvariantCulture);
}

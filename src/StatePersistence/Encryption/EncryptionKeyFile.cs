using System.Buffers;
using System.Globalization;
using System.Text.Json;
using StatePersistence.Errors;
using StatePersistence.FileStore;
using StatePersistence.FileSystem;
using StatePersistence.Storage;

namespace StatePersistence.Encryption;

/// <summary>
/// The key file: a key ring as JSON, mode 0600, kept outside the state directory (a copy of the state directory
/// must not carry its own key). Its form:
/// <c>{"format":"statepersistence-keys","version":1,"keys":[{"id":"key-20261201-3f9a1c2b","state":"active","created_at":"2026-12-01T23:40:00Z","material":"&lt;base64 of 32 bytes&gt;"}]}</c>.
/// Written atomically (temp file, fsync, rename, directory fsync), so a crash leaves the old ring or the new one.
/// Errors name the file and the key ids, never the material.
/// </summary>
public static partial class EncryptionKeyFile
{
    /// <summary>The value of the file's <c>format</c> field.</summary>
    public const string Format = "statepersistence-keys";

    /// <summary>The file's format version this build reads and writes.</summary>
    public const int Version = 1;

    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Creates a key file at <paramref name="path"/> holding one new active key and returns its ring. Refuses (with
    /// <see cref="StatePersistenceException"/>) when the file exists or when it would lie inside
    /// <paramref name="stateDirectory"/>. A <paramref name="path"/> that is a symbolic link whose target does not exist
    /// yet creates that target and stays a link (before 2026-12-07 the link was replaced by a regular file).
    /// </summary>
    public static EncryptionKeyRing Create(string path, string? stateDirectory = null, TimeProvider? timeProvider = null)
    {
        string full = CheckLocation(FollowLink(CheckLocation(path, stateDirectory), targetMayBeMissing: true), stateDirectory);
        RequireDirectory(full);

        // Under the file's lock: two creates at once would each write a key, and the second would replace the first.
        using IDisposable locked = KeyFileLock.Acquire(full);
        if (File.Exists(full))
        {
            throw new StatePersistenceException($"The key file '{full}' exists already; it was left as it is (rotate its keys instead of creating it again).", full);
        }

        DateTimeOffset now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        var ring = new EncryptionKeyRing([EncryptionKey.Generate(EncryptionKey.NewId(now), EncryptionKeyState.Active, now)]);
        Write(full, ring);
        return ring;
    }

    /// <summary>
    /// Reads the key ring in <paramref name="path"/>. Throws <see cref="StatePersistenceException"/> naming the file when
    /// it is missing, readable by others than its owner (looser than 0600), inside <paramref name="stateDirectory"/>, or
    /// not a key file.
    /// </summary>
    public static EncryptionKeyRing Read(string path, string? stateDirectory = null)
    {
        string full = CheckLocation(path, stateDirectory);
        byte[] content = ReadContent(full);
        try
        {
            return Parse(content, full);
        }
        finally
        {
            Array.Clear(content);
        }
    }

    /// <summary>The bytes of the key file at <paramref name="full"/>, checked as <see cref="Read"/> says (it exists, 0600).</summary>
    private static byte[] ReadContent(string full)
    {
        RequireExists(full);

        if (!OperatingSystem.IsWindows())
        {
            UnixFileMode mode = File.GetUnixFileMode(full);
            if ((mode & GroupOrOther) != 0)
            {
                throw new StatePersistenceException(
                    $"The key file '{full}' has mode {Convert.ToString((int)mode & 0x1FF, 8).PadLeft(4, '0')}: other local users may read it. Make it 0600 (chmod 600 '{full}') and start again.", full);
            }
        }

        byte[] content;
        try
        {
            content = File.ReadAllBytes(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new StatePersistenceException($"The key file '{full}' cannot be read ({ex.Message}).", full, isTransient: ex is IOException, innerException: ex);
        }

        return content;
    }

    /// <summary>Throws <see cref="StatePersistenceException"/> naming <paramref name="full"/> when no file is there.</summary>
    private static void RequireExists(string full)
    {
        if (!File.Exists(full))
        {
            throw new StatePersistenceException($"The key file '{full}' does not exist; create one with 'statectl keys create {full}'.", full);
        }
    }

    /// <summary>
    /// Replaces the key file at <paramref name="path"/> with <paramref name="ring"/>, atomically and durably, mode 0600.
    /// The new file keeps the old one's owner and group where the process may give them (root): the rename puts a new
    /// file in place, which would otherwise belong to whoever ran the change, and a key file that <c>statectl keys</c>
    /// run as root made root's could no longer be read by the server running as its own user (before 2026-12-07 every
    /// sealing write of that server then failed). Where it may not (not root), the file is the caller's, as before.
    /// </summary>
    public static void Write(string path, EncryptionKeyRing ring)
    {
        ArgumentNullException.ThrowIfNull(ring);
        string full = Path.GetFullPath(path);
        string directory = RequireDirectory(full);
        byte[] content = Serialize(ring);
        try
        {
            FileOwner? owner = OperatingSystem.IsLinux() ? PosixNative.OwnerOf(full) : null;
            AtomicFile.Write(PhysicalFileSystem.Instance, new StateLayout(directory), full, content, Durability.Full,
                prepareTemp: owner is { } kept ? temp => KeepOwner(temp, kept) : null);
        }
        finally
        {
            Array.Clear(content);
        }
    }

    /// <summary>
    /// Gives <paramref name="file"/> (a new key file, or its lock) to <paramref name="owner"/> when it is someone else's
    /// and the process may (root); else leaves it the caller's, mode 0600 as made.
    /// </summary>
    internal static void KeepOwner(string file, FileOwner owner)
    {
        if (OperatingSystem.IsLinux() && PosixNative.OwnerOf(file) is { } now && now != owner)
        {
            // False when not allowed: the file stays the caller's, which can only be when it may write the directory.
            _ = PosixNative.TryGiveTo(file, owner);
        }
    }

    /// <summary>The directory of the key file <paramref name="full"/>; throws <see cref="StatePersistenceException"/> when it does not exist.</summary>
    private static string RequireDirectory(string full)
    {
        string directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            throw new StatePersistenceException($"The key file's directory '{directory}' does not exist.", full);
        }

        return directory;
    }

    /// <summary>
    /// The full path of <paramref name="path"/>; throws <see cref="StatePersistenceException"/> when it lies inside
    /// <paramref name="stateDirectory"/>.
    /// </summary>
    public static string CheckLocation(string path, string? stateDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            throw new StatePersistenceException($"The key file '{full}' is a directory: give the path of the key file itself (one is made by 'statectl keys create FILE').", full);
        }

        if (stateDirectory is not null && PathContainment.IsInside(full, stateDirectory))
        {
            throw new StatePersistenceException(
                $"The key file '{full}' is inside the state directory '{Path.GetFullPath(stateDirectory)}': a copy or backup of the directory would carry its own key. Keep the key file elsewhere.", full);
        }

        return full;
    }

    private static byte[] Serialize(EncryptionKeyRing ring)
    {
        var output = new ArrayBufferWriter<byte>(256 + (ring.Keys.Count * 160));
        using (var writer = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("format", Format);
            writer.WriteNumber("version", Version);
            writer.WriteStartArray("keys");
            foreach (EncryptionKey key in ring.Keys)
            {
                writer.WriteStartObject();
                writer.WriteString("id", key.Id);
                writer.WriteString("state", StateName(key.State));
                writer.WriteString("created_at", key.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
                writer.WriteBase64String("material", key.Material);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        byte[] content = output.WrittenSpan.ToArray();
        output.Clear();
        return content;
    }

    private static EncryptionKeyRing Parse(byte[] content, string path)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(content);
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("format", out JsonElement format) || format.ValueKind != JsonValueKind.String || format.GetString() != Format)
            {
                throw Invalid(path, $"it lacks \"format\":\"{Format}\"");
            }

            if (!root.TryGetProperty("version", out JsonElement version) || version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out int v) || v != Version)
            {
                throw Invalid(path, $"its version is not {Version} (a newer build may have written it)");
            }

            if (!root.TryGetProperty("keys", out JsonElement keys) || keys.ValueKind != JsonValueKind.Array)
            {
                throw Invalid(path, "it has no \"keys\" array");
            }

            var ring = new List<EncryptionKey>();
            int index = 0;
            foreach (JsonElement key in keys.EnumerateArray())
            {
                ring.Add(ParseKey(key, index++, path));
            }

            return new EncryptionKeyRing(ring);
        }
        catch (JsonException)
        {
            // The parser's message may quote part of the file, and the file holds key material: name the file only.
            throw Invalid(path, "it is not valid JSON");
        }
        catch (ArgumentException ex)
        {
            throw Invalid(path, ArgumentProblem.Text(ex));
        }
    }

    private static EncryptionKey ParseKey(JsonElement key, int index, string path)
    {
        string? id = key.ValueKind == JsonValueKind.Object && key.TryGetProperty("id", out JsonElement i) && i.ValueKind == JsonValueKind.String ? i.GetString() : null;
        if (!EncryptionKey.IsValidId(id))
        {
            throw Invalid(path, $"key {index} has no valid \"id\"");
        }

        if (!key.TryGetProperty("state", out JsonElement s) || s.ValueKind != JsonValueKind.String || ParseState(s.GetString()) is not { } state)
        {
            throw Invalid(path, $"key '{id}' has no \"state\" of active, retired or revoked");
        }

        if (!key.TryGetProperty("created_at", out JsonElement c) || c.ValueKind != JsonValueKind.String || !c.TryGetDateTimeOffset(out DateTimeOffset created))
        {
            throw Invalid(path, $"key '{id}' has no valid \"created_at\"");
        }

        if (!key.TryGetProperty("material", out JsonElement m) || m.ValueKind != JsonValueKind.String || !m.TryGetBytesFromBase64(out byte[]? material) || material.Length != EncryptionKey.MaterialSize)
        {
            throw Invalid(path, $"key '{id}' has no \"material\" of {EncryptionKey.MaterialSize} bytes in base64");
        }

        try
        {
            return new EncryptionKey(id!, material, state, created);
        }
        finally
        {
            Array.Clear(material);
        }
    }

    internal static string StateName(EncryptionKeyState state) => state.ToString().ToLowerInvariant();

    internal static EncryptionKeyState? ParseState(string? name) => name switch
    {
        "active" => EncryptionKeyState.Active,
        "retired" => EncryptionKeyState.Retired,
        "revoked" => EncryptionKeyState.Revoked,
        _ => null,
    };

    private static StatePersistenceException Invalid(string path, string problem) =>
        new($"The key file '{path}' is not a valid key file: {problem.TrimEnd('.')}. Nothing was changed.", path);
}

using System.Text;
using System.Text.Json;
using StatePersistence.FileSystem;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Migrations.NodeImport;

/// <summary>
/// The Node implementation's JSON files made readable by recovery before it reads them: a UTF-8 byte order mark ahead
/// of the JSON is dropped (this library's reader refuses one, and moved each such file aside: a state with every task
/// lost), and a snapshot without <c>version</c> (the seed's <c>PersistedState</c> has none) is marked 1.0.0, which it
/// is (it was taken for no state file at all, and everything only it held was lost). Each change is logged; the
/// originals are in the pre-migration backup.
/// </summary>
internal static class NodeJsonFiles
{
    public static void Normalize(MigrationContext context)
    {
        StateLayout layout = context.Layout;
        foreach (string name in context.FileSystem.ListFiles(layout.Root).Order(StringComparer.Ordinal))
        {
            if (name == "state.json" || NodeFileNames.TryParseBackup(name, out _))
            {
                NormalizeOne(context, Path.Combine(layout.Root, name), snapshot: true);
            }
        }

        foreach (string directory in (string[])[layout.TasksDirectory, layout.SessionsDirectory])
        {
            foreach (string name in context.FileSystem.ListFiles(directory).Order(StringComparer.Ordinal))
            {
                if (name.EndsWith(".json", StringComparison.Ordinal) && !StateLayout.IsTempFile(name))
                {
                    NormalizeOne(context, Path.Combine(directory, name), snapshot: false);
                }
            }
        }
    }

    private static void NormalizeOne(MigrationContext context, string path, bool snapshot)
    {
        byte[] bytes = context.FileSystem.ReadAllBytes(path);
        bool mark = bytes.AsSpan().StartsWith(JsonValueBytes.ByteOrderMark);
        ReadOnlySpan<byte> json = mark ? bytes.AsSpan(JsonValueBytes.ByteOrderMark.Length) : bytes;
        if (mark && !IsJson(json))
        {
            // Damaged behind its mark: left as it is, so recovery moves aside the file the Node server wrote, byte for
            // byte (before 2026-12-07 the copy moved aside was this rewrite, without the mark).
            context.Log.Add($"  {context.Relative(path)}: starts with a byte order mark but is no JSON after it; left as it is for recovery to move aside");
            return;
        }

        int open = snapshot && LacksVersion(json) ? json.IndexOf((byte)'{') : -1;
        if (!mark && open < 0)
        {
            return;
        }

        var fixedJson = new List<byte>(json.Length + 24);
        if (open >= 0)
        {
            // {"version":"1.0.0", then the object's members (no comma before an empty object's closing brace).
            bool empty = json[(open + 1)..].TrimStart(" \t\r\n"u8).StartsWith("}"u8);
            fixedJson.AddRange(json[..(open + 1)]);
            fixedJson.AddRange(Encoding.UTF8.GetBytes(empty ? "\"version\":\"1.0.0\"" : "\"version\":\"1.0.0\","));
            fixedJson.AddRange(json[(open + 1)..]);
        }
        else
        {
            fixedJson.AddRange(json);
        }

        context.Write(path, fixedJson.ToArray());
        string what = (mark, open >= 0) switch
        {
            (true, true) => "its byte order mark dropped and marked version 1.0.0 (it named none)",
            (true, false) => "its byte order mark dropped",
            _ => "marked version 1.0.0 (it named none)",
        };
        context.Log.Add($"  {context.Relative(path)}: {what}");
    }

    /// <summary>Whether <paramref name="json"/> is one JSON value (with nothing after it but whitespace).</summary>
    private static bool IsJson(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Whether <paramref name="json"/> is a JSON object with no <c>version</c> member; JSON that does not parse is left to recovery to report.</summary>
    private static bool LacksVersion(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using JsonDocument document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.ValueKind == JsonValueKind.Object && !document.RootElement.TryGetProperty("version", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

using StatePersistence.Errors;
using StatePersistence.Serialization.Envelope;

namespace StatePersistence.FileStore.Operations;

/// <summary>
/// The reports an export takes: each checked as the import checks it (<see cref="ArchiveEntryCheck"/>) before it goes
/// in. A damaged report used to be copied without a word, and the import then refused the whole archive for it: an
/// export that said it succeeded could not be restored. It is now left out and named; the file itself stays in the
/// state directory as it is.
/// </summary>
internal static class ReportExport
{
    /// <summary>
    /// <paramref name="content"/> when the report at <paramref name="path"/> is what an import accepts (or cannot be
    /// opened here to tell: a key the export was not given, which the import is given); else null, with the report
    /// named in <paramref name="leftOut"/>.
    /// </summary>
    public static byte[]? Checked(string name, byte[] content, string path, PayloadEnvelope envelope, List<StateDirectoryProblem> leftOut)
    {
        string? problem;
        try
        {
            problem = ArchiveEntryCheck.Problem("reports/" + name, content, envelope, state: null, path);
        }
        catch (StateFormatException)
        {
            // Sealed under a key or codec the export was not given: copied as it is, as before; the import opens it.
            return content;
        }

        if (problem is null)
        {
            return content;
        }

        string? id = StateLayout.ItemId(name)?["report_".Length..];
        leftOut.Add(new StateDirectoryProblem(path, id,
            $"the report is damaged: {problem}; it is not in the export (an import refuses an archive holding it) and stays in the state directory as it is"));
        return null;
    }
}

using System.Globalization;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Workbench.Notebooks;

/// <summary>A <c>--param</c> that names no parameter, or whose value does not parse as the parameter's type.</summary>
public sealed class ParameterException(string message) : Exception(message);

/// <summary>One knob declared in the parameters cell: <c>var steps = 200;</c> or <c>int steps = 200;</c>.</summary>
public sealed record NotebookParameter(string Name, string? TypeName, string Declaration)
{
    /// <summary>True when the runner can assign it from the command line (bool, int, long, double, float, string).</summary>
    public bool IsSettable => TypeName is not null;
}

/// <summary>
/// Papermill's convention for C#: the cell tagged <c>parameters</c> declares the knobs; the runner inserts a
/// cell right after it that assigns the values given on the command line, as C# literals of each knob's
/// declared type. Everything is checked before the first cell runs.
/// </summary>
public static class Parameters
{
    public const string Tag = "parameters";
    public const string InjectedTag = "injected-parameters";

    /// <summary>The top-level variables declared in the parameters cell, in order.</summary>
    public static IReadOnlyList<NotebookParameter> Declared(string code)
    {
        var tree = CSharpSyntaxTree.ParseText(code, new CSharpParseOptions(kind: SourceCodeKind.Script));
        var root = tree.GetCompilationUnitRoot();
        var result = new List<NotebookParameter>();
        foreach (var member in root.Members)
        {
            // In a script, a top-level `var x = 1;` parses as a field declaration; inside a global statement
            // it is a local declaration. Both are accepted.
            VariableDeclarationSyntax? declaration = member switch
            {
                FieldDeclarationSyntax f => f.Declaration,
                GlobalStatementSyntax { Statement: LocalDeclarationStatementSyntax l } => l.Declaration,
                _ => null,
            };
            if (declaration is null) continue;
            foreach (var v in declaration.Variables)
                result.Add(new(v.Identifier.ValueText, TypeOf(declaration.Type, v.Initializer?.Value), v.ToString().Trim()));
        }
        return result;
    }

    static string? TypeOf(TypeSyntax type, ExpressionSyntax? init)
    {
        var written = type.ToString();
        if (written != "var")
        {
            return written switch
            {
                "bool" or "Boolean" or "System.Boolean" => "bool",
                "int" or "Int32" or "System.Int32" => "int",
                "long" or "Int64" or "System.Int64" => "long",
                "double" or "Double" or "System.Double" => "double",
                "float" or "Single" or "System.Single" => "float",
                "string" or "String" or "System.String" => "string",
                _ => null,
            };
        }
        // `var`: the literal decides, with a leading minus allowed.
        if (init is PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.UnaryMinusExpression } neg) init = neg.Operand;
        if (init is not LiteralExpressionSyntax literal) return null;
        return literal.Token.Value switch
        {
            bool => "bool",
            int => "int",
            long => "long",
            double => "double",
            float => "float",
            string => "string",
            _ => null,
        };
    }

    /// <summary>
    /// The source of the injected cell: one assignment per value. Throws <see cref="ParameterException"/> for
    /// an unknown name, a knob that is not a plain literal, or a value that does not parse.
    /// </summary>
    public static string BuildInjection(IReadOnlyList<NotebookParameter> declared, IEnumerable<KeyValuePair<string, string>> values,
        string notebookName)
    {
        var lines = new List<string> { "// Parameters injected by `workbench notebook run`" };
        foreach (var (name, raw) in values)
        {
            var p = declared.FirstOrDefault(d => d.Name == name)
                ?? throw new ParameterException(
                    $"{notebookName}: --param {name}: no such parameter; its parameters cell declares " +
                    (declared.Count == 0 ? "none." : string.Join(", ", declared.Select(d => d.Name)) + "."));
            if (!p.IsSettable)
                throw new ParameterException(
                    $"{notebookName}: --param {name}: '{p.Declaration}' is not a bool, int, long, double, float or string literal, so it cannot be set from the command line.");
            lines.Add($"{name} = {Literal(p, raw, notebookName)};");
        }
        return string.Join("\n", lines);
    }

    static string Literal(NotebookParameter p, string raw, string notebookName)
    {
        var inv = CultureInfo.InvariantCulture;
        var s = raw.Trim();
        string? literal = p.TypeName switch
        {
            "bool" => bool.TryParse(s, out var b) ? (b ? "true" : "false") : null,
            "int" => int.TryParse(s, NumberStyles.Integer, inv, out var i) ? i.ToString(inv) : null,
            "long" => long.TryParse(s, NumberStyles.Integer, inv, out var l) ? l.ToString(inv) + "L" : null,
            "double" => double.TryParse(s, NumberStyles.Float, inv, out var d) ? Real(d, "double", "d") : null,
            "float" => float.TryParse(s.TrimEnd('f', 'F'), NumberStyles.Float, inv, out var f) ? Real(f, "float", "f") : null,
            "string" => SymbolDisplay.FormatLiteral(raw, quote: true),
            _ => null,
        };
        return literal ?? throw new ParameterException(
            $"{notebookName}: --param {p.Name}={raw}: '{raw}' is not a valid {p.TypeName} (declared as '{p.Declaration}').");
    }

    static string Real(double value, string type, string suffix) =>
        double.IsNaN(value) ? $"{type}.NaN"
        : double.IsPositiveInfinity(value) ? $"{type}.PositiveInfinity"
        : double.IsNegativeInfinity(value) ? $"{type}.NegativeInfinity"
        : (type == "float" ? ((float)value).ToString("R", CultureInfo.InvariantCulture) : value.ToString("R", CultureInfo.InvariantCulture)) + suffix;

    /// <summary>Parses <c>name=value</c> as given to <c>--param</c>.</summary>
    public static KeyValuePair<string, string> ParseAssignment(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0)
            throw new ParameterException($"--param {text}: expected name=value.");
        var name = text[..eq].Trim();
        if (!SyntaxFacts.IsValidIdentifier(name))
            throw new ParameterException($"--param {text}: '{name}' is not a C# identifier.");
        return new(name, text[(eq + 1)..]);
    }
}

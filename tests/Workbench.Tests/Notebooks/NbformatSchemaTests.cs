using System.Text.Json.Nodes;

namespace Workbench.Tests.Notebooks;

/// <summary>The nbformat schema the notebook tests validate against, through NJsonSchema.</summary>
public class NbformatSchemaTests
{
    [Fact]
    public void NbformatSchemaRejectsACodeCellWithoutExecutionCount()
    {
        var nb = JsonNode.Parse("""
            {"cells":[{"cell_type":"code","id":"a1","metadata":{},"source":"1","outputs":[]}],
             "metadata":{},"nbformat":4,"nbformat_minor":5}
            """);
        var errors = TestNotebooks.Validate(nb);
        Assert.NotEmpty(errors);
        Assert.Contains(errors, e => e.Contains("execution_count", StringComparison.Ordinal) || e.Contains("OneOf", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void NbformatSchemaAcceptsAMinimalNotebook()
    {
        var nb = JsonNode.Parse("""
            {"cells":[{"cell_type":"code","id":"a1","metadata":{},"source":["1"],"outputs":[
               {"output_type":"stream","name":"stdout","text":["hi\n"]},
               {"output_type":"execute_result","execution_count":1,"data":{"text/plain":["1"]},"metadata":{}}],
               "execution_count":1},
              {"cell_type":"markdown","id":"b2","metadata":{},"source":"# x"}],
             "metadata":{"kernelspec":{"name":".net-csharp","display_name":".NET (C#)"}},"nbformat":4,"nbformat_minor":5}
            """);
        Assert.Empty(TestNotebooks.Validate(nb));
    }
}

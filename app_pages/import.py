"""Import: upload → check (sheet, header, mapping, dates, unit) → validation report → confirm → history."""
import streamlit as st

from kam_core.imports import worker
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.locales.formatting import format_number
from kam_core.permissions import can
from kam_core.ui import context, importer, inbox

ctx = context.current()
st.title(ctx.t("page.import"))
limit_mb = int(st.get_option("server.maxUploadSize"))
st.caption(ctx.t("import.size_limit", mb=format_number(limit_mb, lang=ctx.lang)))

if not can(ctx.user, "import"):
    st.info(ctx.t("import.read_only"))
else:
    worker.warm_up()  # the workbook reader's server starts while the user picks a file
    # a file from the inbox that needs a person is finished here, in place of an upload
    files = inbox.review_pick(ctx)
    if not files:
        importer.dropzone_words(ctx, limit_mb)
        files = st.file_uploader(ctx.t("import.upload"), type=None, accept_multiple_files=True,
                                 help=ctx.t("import.upload_help"), key=importer.uploader_key())
    if files:
        names = [f.name for f in files]
        chosen = st.selectbox(ctx.t("import.file"), names, key="import_file_pick") if len(files) > 1 else names[0]
        upload = files[names.index(chosen)]
        data = upload.getvalue()
        opts = importer.options_form(ctx, data, upload.name)
        if opts is not None:
            try:
                plan = importer.checked_plan(ctx, data, upload.name, opts)
            except DecisionNeeded as need:
                importer.show_decision(ctx, need, data, opts)
                plan = None
            except ImportRejected as rej:
                st.error(importer.rejection_text(ctx, rej))
                plan = None
            if plan is not None:
                importer.show_report(ctx, plan)
                importer.confirm_button(ctx, plan)

st.divider()
st.subheader(ctx.t("import.history"))
importer.history(ctx)
